-- What `prisma migrate diff --from-empty --to-schema schema.prisma --script` emits for schema.prisma
-- (written by hand: the command needs the schema engine binary).
CREATE TABLE "orm_prisma_users" (
    "id" BIGSERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "birthday" DATE,
    "balance" DECIMAL(12,2),
    "profile" JSONB,

    CONSTRAINT "orm_prisma_users_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "orm_prisma_posts" (
    "id" SERIAL NOT NULL,
    "title" TEXT NOT NULL,
    "user_id" BIGINT NOT NULL,

    CONSTRAINT "orm_prisma_posts_pkey" PRIMARY KEY ("id")
);

ALTER TABLE "orm_prisma_posts" ADD CONSTRAINT "orm_prisma_posts_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "orm_prisma_users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
