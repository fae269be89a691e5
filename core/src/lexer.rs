//! A PostgreSQL lexer just deep enough for routing: words, literals, punctuation; comments dropped.
//!
//! It follows the server's lexical rules (scan.l) for everything that can hide a keyword:
//! `--` and nested `/* */` comments, `'…'` with `''`, `E'…'` with backslash escapes, `U&'…'`,
//! `"quoted identifiers"` and `$tag$ … $tag$` dollar quotes. Decisions are made on tokens, never
//! on substrings, so a keyword inside a literal or a comment never changes a route.

/// What a token is; the text is kept as a slice of the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An unquoted keyword or identifier; compare with [`Token::is`].
    Word,
    /// A `"quoted identifier"`: never a keyword.
    QuotedIdent,
    /// Any string literal: standard, escape, Unicode, bit/hex or dollar-quoted.
    Literal,
    Number,
    /// A positional parameter such as `$1`.
    Param,
    LParen,
    RParen,
    Semicolon,
    Comma,
    Dot,
    /// Any other operator or punctuation.
    Operator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    pub kind: TokenKind,
    pub text: &'a str,
}

impl Token<'_> {
    /// True when this is the unquoted word `keyword` (given in lower case), in any case.
    pub fn is(&self, keyword: &str) -> bool {
        self.kind == TokenKind::Word && self.text.eq_ignore_ascii_case(keyword)
    }
}

/// Splits `sql` into tokens. Unterminated literals or comments run to the end of the text: the
/// server rejects such text anyway, and the router treats what it cannot read as a write.
pub fn tokenize(sql: &str) -> Vec<Token<'_>> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let kind = match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0c => {
                i += 1;
                continue;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(bytes, i);
                continue;
            }
            b'\'' => {
                i = skip_quoted(bytes, i + 1, b'\'', false);
                TokenKind::Literal
            }
            b'"' => {
                i = skip_quoted(bytes, i + 1, b'"', false);
                TokenKind::QuotedIdent
            }
            b'$' => match dollar_tag_len(bytes, i) {
                Some(tag_len) => {
                    i = skip_dollar_quoted(bytes, i, tag_len);
                    TokenKind::Literal
                }
                None if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                    i += 1;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                    TokenKind::Param
                }
                None => {
                    i += 1;
                    TokenKind::Operator
                }
            },
            b'(' => {
                i += 1;
                TokenKind::LParen
            }
            b')' => {
                i += 1;
                TokenKind::RParen
            }
            b';' => {
                i += 1;
                TokenKind::Semicolon
            }
            b',' => {
                i += 1;
                TokenKind::Comma
            }
            b'.' if !bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i += 1;
                TokenKind::Dot
            }
            b'0'..=b'9' | b'.' => {
                i = skip_number(bytes, i);
                TokenKind::Number
            }
            _ if is_ident_start(c) => {
                // Prefixed literals: E'…', B'…', X'…', N'…', U&'…' and U&"…".
                let next = bytes.get(i + 1).copied();
                match (c.to_ascii_lowercase(), next) {
                    (b'e', Some(b'\'')) => {
                        i = skip_quoted(bytes, i + 2, b'\'', true);
                        TokenKind::Literal
                    }
                    (b'b' | b'x' | b'n', Some(b'\'')) => {
                        i = skip_quoted(bytes, i + 2, b'\'', false);
                        TokenKind::Literal
                    }
                    (b'u', Some(b'&')) if bytes.get(i + 2) == Some(&b'\'') => {
                        i = skip_quoted(bytes, i + 3, b'\'', false);
                        TokenKind::Literal
                    }
                    (b'u', Some(b'&')) if bytes.get(i + 2) == Some(&b'"') => {
                        i = skip_quoted(bytes, i + 3, b'"', false);
                        TokenKind::QuotedIdent
                    }
                    _ => {
                        i += 1;
                        while i < bytes.len() && is_ident_cont(bytes[i]) {
                            i += 1;
                        }
                        TokenKind::Word
                    }
                }
            }
            _ => {
                i += 1;
                // Multi-character operators are one token; only their existence matters here.
                while i < bytes.len() && is_operator_char(bytes[i]) && !starts_comment(bytes, i) {
                    i += 1;
                }
                TokenKind::Operator
            }
        };
        // Tokens end on ASCII bytes, so `start..i` is always on char boundaries.
        tokens.push(Token {
            kind,
            text: &sql[start..i.min(bytes.len())],
        });
    }
    tokens
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_ident_cont(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit() || c == b'$'
}

fn is_operator_char(c: u8) -> bool {
    matches!(
        c,
        b'+' | b'-'
            | b'*'
            | b'/'
            | b'<'
            | b'>'
            | b'='
            | b'~'
            | b'!'
            | b'@'
            | b'#'
            | b'%'
            | b'^'
            | b'&'
            | b'|'
            | b'`'
            | b'?'
            | b':'
    )
}

fn starts_comment(bytes: &[u8], i: usize) -> bool {
    matches!(
        (bytes[i], bytes.get(i + 1)),
        (b'-', Some(b'-')) | (b'/', Some(b'*'))
    )
}

/// Skips a nested `/* … */` comment starting at `i`; returns the index after it.
fn skip_block_comment(bytes: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// Skips to just after the closing `quote`, starting inside the literal at `i`. A doubled quote
/// is an escaped quote; with `backslash`, `\x` escapes any byte (E'…' strings).
fn skip_quoted(bytes: &[u8], mut i: usize, quote: u8, backslash: bool) -> usize {
    while i < bytes.len() {
        let c = bytes[i];
        if backslash && c == b'\\' {
            i += 2;
        } else if c == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// When a dollar quote opens at `i` (`$$` or `$tag$`), the length of its delimiter.
fn dollar_tag_len(bytes: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if bytes.get(j).is_some_and(|&c| c.is_ascii_digit()) {
        return None; // $1 is a parameter
    }
    while j < bytes.len() && bytes[j] != b'$' {
        if !(is_ident_start(bytes[j]) || bytes[j].is_ascii_digit()) {
            return None;
        }
        j += 1;
    }
    (j < bytes.len()).then_some(j + 1 - i)
}

fn skip_dollar_quoted(bytes: &[u8], start: usize, tag_len: usize) -> usize {
    let tag = &bytes[start..start + tag_len];
    let body = start + tag_len;
    bytes[body..]
        .windows(tag_len)
        .position(|w| w == tag)
        .map_or(bytes.len(), |p| body + p + tag_len)
}

fn skip_number(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len()
        && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.' || bytes[i] == b'_')
    {
        // An exponent sign belongs to the number: 1e-5.
        if (bytes[i] == b'e' || bytes[i] == b'E')
            && matches!(bytes.get(i + 1), Some(b'+') | Some(b'-'))
        {
            i += 1;
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<(TokenKind, &str)> {
        tokenize(sql)
            .into_iter()
            .map(|t| (t.kind, t.text))
            .collect()
    }

    /// Comments of both kinds, nested block comments included, produce no tokens.
    #[test]
    fn comments_vanish() {
        let t = kinds("/* a /* nested */ still */ -- line\n select 1");
        assert_eq!(
            t,
            vec![(TokenKind::Word, "select"), (TokenKind::Number, "1")]
        );
    }

    /// Keywords inside every kind of literal stay inside one literal token.
    #[test]
    fn literals_hide_keywords() {
        for sql in [
            "'it''s an insert'",
            r"E'an \' insert'",
            "U&'d\\0061t insert'",
            "$$ insert $$",
            "$fn$ insert $$ $fn$",
            "B'0101'",
        ] {
            let t = kinds(sql);
            assert_eq!(t.len(), 1, "{sql}: {t:?}");
            assert_eq!(t[0].0, TokenKind::Literal, "{sql}");
        }
        assert_eq!(kinds("\"insert\"")[0].0, TokenKind::QuotedIdent);
    }

    /// `$1` is a parameter, `$a$` opens a dollar quote, and identifiers may contain `$`.
    #[test]
    fn dollar_forms() {
        assert_eq!(kinds("$1")[0].0, TokenKind::Param);
        assert_eq!(kinds("a$b")[0], (TokenKind::Word, "a$b"));
    }

    /// Unterminated literals and comments run to the end instead of panicking.
    #[test]
    fn unterminated_input() {
        assert_eq!(kinds("select 'abc").len(), 2);
        assert_eq!(kinds("select /* abc").len(), 1);
        assert_eq!(kinds("select $x$ abc").len(), 2);
        assert_eq!(kinds("e'\\").len(), 1);
    }

    /// Punctuation is split, operators are grouped, numbers keep their exponent.
    #[test]
    fn punctuation() {
        let t = kinds("a.b(1e-5, .5);");
        let k: Vec<TokenKind> = t.iter().map(|t| t.0).collect();
        use TokenKind::*;
        assert_eq!(
            k,
            vec![Word, Dot, Word, LParen, Number, Comma, Number, RParen, Semicolon]
        );
        assert_eq!(kinds("a<>--c\nb").len(), 3);
    }
}
