//! Generates the gRPC code with a vendored `protoc`, so no system package is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // raft.proto names the admin API's cluster status, which lives in `crate::admin`.
    // (Generating it writes a partial admin file too, which the next step replaces.)
    let mut config = prost_build::Config::new();
    config.protoc_executable(&protoc);
    config.extern_path(".arustio.admin.v1", "crate::admin");
    config.skip_debug([".arustio.raft.v1.MountEntry", ".arustio.raft.v1.RootCredentials"]);
    tonic_prost_build::configure().compile_with_config(config, &["proto/raft.proto"], &["proto"])?;
    let mut config = prost_build::Config::new();
    config.protoc_executable(&protoc);
    tonic_prost_build::configure().compile_with_config(
        config,
        &["proto/admin.proto", "proto/cache.proto"],
        &["proto"],
    )?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
