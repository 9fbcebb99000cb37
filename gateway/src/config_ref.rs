//! The configuration reference, `docs/config.md`, generated from the code so that it
//! cannot drift: each key, its description and type from the `Config` struct's source,
//! its default from `Config::default()`, its flag from the `serve` command line, its
//! environment variable from the `ARUSTIO_` prefix. A test compares the file with what
//! the code makes now (`ARUSTIO_BLESS=1` rewrites it).

use std::fmt::Write as _;

use clap::CommandFactory;

use crate::config::Config;

const SOURCE: &str = include_str!("config.rs");

/// A field of a struct in config.rs: name, Rust type and doc comment.
struct Field {
    name: String,
    ty: String,
    doc: String,
}

/// The fields of `struct NAME` in config.rs, in order.
fn fields(name: &str) -> Vec<Field> {
    let start = format!("pub(crate) struct {name} {{");
    let body = SOURCE
        .split_once(&start)
        .and_then(|(_, rest)| rest.split_once("\n}"))
        .map_or("", |(body, _)| body);
    let mut out = Vec::new();
    let mut doc = Vec::new();
    for line in body.lines().map(str::trim) {
        if let Some(d) = line.strip_prefix("///") {
            doc.push(d.trim().to_owned());
        } else if let Some(decl) = line.strip_prefix("pub ") {
            let (field, ty) = decl.split_once(':').unwrap_or((decl, ""));
            out.push(Field {
                name: field.trim().to_owned(),
                ty: ty.trim().trim_end_matches(',').to_owned(),
                doc: doc.join(" "),
            });
            doc.clear();
        }
    }
    out
}

/// The type as a user writes it.
fn user_type(ty: &str) -> String {
    let inner = ty
        .strip_prefix("Option<")
        .and_then(|t| t.strip_suffix('>'))
        .unwrap_or(ty);
    let shown = match inner {
        "PathBuf" => "path",
        "SocketAddr" => "HOST:PORT",
        "String" => "string",
        "Secret" => "secret string",
        "u64" | "usize" => "integer",
        "bool" => "boolean",
        "ByteSize" => "size (`512MiB`, `4GiB` or bytes)",
        "MetadataBackend" => "`rocksdb` or `memory`",
        "LogFormat" => "`text` or `json`",
        "Vec<MountConfig>" => "array of tables (below)",
        "arustio_backends::MountOptions" => "table of strings",
        other => other,
    };
    shown.to_owned()
}

fn size(bytes: u64) -> String {
    for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// The default as a user writes it.
fn default_of(field: &Field, value: Option<&serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => match field.name.as_str() {
            "log" => format!("`RUST_LOG`, else `{}`", crate::config::DEFAULT_LOG),
            "advertise_addr" => "`grpc_addr`".to_owned(),
            _ => "none".to_owned(),
        },
        Some(serde_json::Value::Array(a)) if a.is_empty() => "none".to_owned(),
        Some(serde_json::Value::Number(n)) if field.ty == "ByteSize" => size(n.as_u64().unwrap_or(0)),
        Some(serde_json::Value::String(s)) => format!("`{s}`"),
        Some(v) => format!("`{v}`"),
    }
}

/// `--flag VALUE` for `key`, if `arustio serve` has one.
fn flag_of(cmd: &clap::Command, key: &str) -> Option<String> {
    let long = key.replace('_', "-");
    let serve = cmd.find_subcommand("serve")?;
    let arg = serve
        .get_arguments()
        .chain(cmd.get_arguments())
        .find(|a| a.get_long() == Some(long.as_str()))?;
    let value = match arg.get_action() {
        clap::ArgAction::SetTrue => String::new(),
        _ => {
            let name = arg
                .get_value_names()
                .and_then(|v| v.first())
                .map_or_else(|| key.to_ascii_uppercase(), ToString::to_string);
            format!(" {name}")
        }
    };
    Some(format!("`--{long}{value}`"))
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The whole reference, as docs/config.md holds it.
pub(crate) fn reference() -> String {
    let defaults = serde_json::to_value(Config::default()).unwrap_or_default();
    let cmd = crate::Cli::command();
    let mut out = String::from(
        "# Configuration reference\n\n\
         Generated from the code by `gateway/src/config_ref.rs`; a test fails when this file and the \
         code differ (`ARUSTIO_BLESS=1 cargo test --workspace config_ref` rewrites it).\n\n\
         `arustio serve` reads, each over the one before: the defaults, a TOML file (`--config FILE`, \
         the keys below), `ARUSTIO_*` environment variables, then flags. The metrics port is plain \
         HTTP on any address (it serves figures and health, no data and no control); the S3 and gRPC \
         ports refuse plaintext beyond loopback unless `insecure` is set or TLS is configured.\n\n\
         | key | type | default | flag | environment | what it does |\n\
         |---|---|---|---|---|---|\n",
    );
    for f in fields("Config") {
        let flag = flag_of(&cmd, &f.name).unwrap_or_else(|| "-".to_owned());
        let env = if f.name == "mounts" {
            "-".to_owned()
        } else {
            format!("`ARUSTIO_{}`", f.name.to_ascii_uppercase())
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            f.name,
            cell(&user_type(&f.ty)),
            cell(&default_of(&f, defaults.get(&f.name))),
            flag,
            env,
            cell(&f.doc)
        );
    }
    out.push_str(
        "\n## `[[mounts]]`\n\nMounts the config file declares, applied at every start (the same as \
         `arustio fs mount`; one already there with the same store is left alone).\n\n\
         | key | type | what it does |\n|---|---|---|\n",
    );
    for f in fields("MountConfig") {
        let _ = writeln!(out, "| `{}` | {} | {} |", f.name, cell(&user_type(&f.ty)), cell(&f.doc));
    }
    out.push_str(
        "\n```toml\n# arustio.toml\ns3_addr = \"0.0.0.0:39999\"\nmetrics_addr = \"0.0.0.0:39998\"\n\
         log_format = \"json\"\ncache_memory = \"2GiB\"\n\n[[mounts]]\npath = \"/data/lake\"\n\
         uri = \"s3://bucket/prefix\"\noptions = { region = \"eu-west-1\" }\nreadonly = true\n```\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/config.md")
    }

    #[test]
    fn docs_config_md_is_what_the_code_says() {
        let want = reference();
        if std::env::var_os("ARUSTIO_BLESS").is_some() {
            std::fs::write(path(), &want).unwrap();
        }
        let have = std::fs::read_to_string(path()).unwrap_or_default();
        assert!(
            have == want,
            "docs/config.md differs from the code: run ARUSTIO_BLESS=1 cargo test --workspace config_ref"
        );
    }

    #[test]
    fn every_key_is_read_from_the_source_with_a_doc() {
        let defaults = serde_json::to_value(Config::default()).unwrap();
        let keys: Vec<String> = defaults.as_object().unwrap().keys().cloned().collect();
        let fields = fields("Config");
        let mut names: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        names.sort();
        assert_eq!(names, sorted, "every Config key, parsed from config.rs");
        for f in &fields {
            assert!(!f.doc.is_empty(), "{} has no doc comment", f.name);
            assert!(
                !user_type(&f.ty).contains('<'),
                "{}: type {} has no user name",
                f.name,
                f.ty
            );
        }
    }

    #[test]
    fn every_serve_flag_is_a_key() {
        let cmd = crate::Cli::command();
        let serve = cmd.find_subcommand("serve").unwrap();
        let keys: Vec<String> = fields("Config").into_iter().map(|f| f.name).collect();
        for arg in serve.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if long == "config" || long == "help" {
                continue;
            }
            assert!(keys.contains(&long.replace('-', "_")), "--{long} is not a config key");
        }
        assert_eq!(
            flag_of(&cmd, "metrics_addr").as_deref(),
            Some("`--metrics-addr METRICS_ADDR`")
        );
        assert_eq!(flag_of(&cmd, "insecure").as_deref(), Some("`--insecure`"));
        assert_eq!(flag_of(&cmd, "tls_ca").as_deref(), Some("`--tls-ca FILE`"));
    }
}
