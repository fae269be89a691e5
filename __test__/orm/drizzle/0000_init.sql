CREATE TABLE "orm_drizzle_users" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"birthday" date,
	"balance" numeric(12, 2),
	"profile" jsonb
);
--> statement-breakpoint
CREATE TABLE "orm_drizzle_posts" (
	"id" serial PRIMARY KEY NOT NULL,
	"user_id" bigint NOT NULL,
	"title" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "orm_drizzle_posts" ADD CONSTRAINT "orm_drizzle_posts_user_id_orm_drizzle_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."orm_drizzle_users"("id") ON DELETE no action ON UPDATE no action;
