//! [`MetaCmd`] to and from its message (`MetaCommand`), as a log entry and a leader write
//! carry it.

use arustio_backends::MountOptions;
use arustio_namespace::MountEntry;
use arustio_proto::raft as pb;
use pb::meta_command::Cmd;

use super::{FromPb, IntoPb, Malformed, need};
use crate::{Grant, MetaCmd, RootCredentials, User};

impl IntoPb for MetaCmd {
    type Pb = pb::MetaCommand;

    fn into_pb(self) -> pb::MetaCommand {
        let cmd = self;
        let cmd = match cmd {
            MetaCmd::Mount(m) => Cmd::Mount(pb::MountEntry {
                path: m.path,
                uri: m.uri,
                options: m.options.0.into_iter().collect(),
                readonly: m.readonly,
            }),
            MetaCmd::Unmount { path } => Cmd::Unmount(path),
            MetaCmd::SetRootCredentials(c) => Cmd::SetRootCredentials(pb::RootCredentials {
                access_key: c.access_key,
                secret_key: c.secret_key,
            }),
            MetaCmd::AddCacheNode { id, addr } => Cmd::AddCacheNode(pb::NodeAddr { id, addr }),
            MetaCmd::RemoveNode { id } => Cmd::RemoveNode(id),
            MetaCmd::SetNodeEndpoint { id, s3_addr } => Cmd::SetNodeEndpoint(pb::NodeAddr { id, addr: s3_addr }),
            MetaCmd::AddUser(u) => Cmd::AddUser(pb::UserRecord {
                name: u.name,
                access_key: u.access_key,
                sealed_secret: u.sealed_secret,
                grants: u.grants.into_iter().map(grant_pb).collect(),
            }),
            MetaCmd::RemoveUser { name } => Cmd::RemoveUser(name),
            MetaCmd::SetUserSecret { name, sealed_secret } => {
                Cmd::SetUserSecret(pb::UserSecret { name, sealed_secret })
            }
            MetaCmd::Grant { name, grant } => Cmd::Grant(pb::UserGrant {
                name,
                grant: Some(grant_pb(grant)),
            }),
            MetaCmd::Revoke { name, bucket, prefix } => Cmd::Revoke(pb::UserGrant {
                name,
                grant: Some(pb::GrantRecord {
                    bucket,
                    prefix,
                    access: String::new(),
                }),
            }),
        };
        pb::MetaCommand { cmd: Some(cmd) }
    }
}

impl FromPb for MetaCmd {
    type Pb = pb::MetaCommand;

    fn from_pb(m: pb::MetaCommand) -> Result<Self, Malformed> {
        Ok(match need(m.cmd, "MetaCommand")? {
            Cmd::Mount(m) => MetaCmd::Mount(MountEntry {
                path: m.path,
                uri: m.uri,
                options: MountOptions(m.options.into_iter().collect()),
                readonly: m.readonly,
            }),
            Cmd::Unmount(path) => MetaCmd::Unmount { path },
            Cmd::SetRootCredentials(c) => MetaCmd::SetRootCredentials(RootCredentials {
                access_key: c.access_key,
                secret_key: c.secret_key,
            }),
            Cmd::AddCacheNode(n) => MetaCmd::AddCacheNode { id: n.id, addr: n.addr },
            Cmd::RemoveNode(id) => MetaCmd::RemoveNode { id },
            Cmd::SetNodeEndpoint(n) => MetaCmd::SetNodeEndpoint {
                id: n.id,
                s3_addr: n.addr,
            },
            Cmd::AddUser(u) => MetaCmd::AddUser(User {
                name: u.name,
                access_key: u.access_key,
                sealed_secret: u.sealed_secret,
                grants: u.grants.into_iter().map(grant_of).collect::<Result<_, _>>()?,
            }),
            Cmd::RemoveUser(name) => MetaCmd::RemoveUser { name },
            Cmd::SetUserSecret(s) => MetaCmd::SetUserSecret {
                name: s.name,
                sealed_secret: s.sealed_secret,
            },
            Cmd::Grant(g) => MetaCmd::Grant {
                name: g.name,
                grant: grant_of(need(g.grant, "grant")?)?,
            },
            Cmd::Revoke(g) => {
                let grant = need(g.grant, "grant")?;
                MetaCmd::Revoke {
                    name: g.name,
                    bucket: grant.bucket,
                    prefix: grant.prefix,
                }
            }
        })
    }
}

fn grant_pb(g: Grant) -> pb::GrantRecord {
    pb::GrantRecord {
        bucket: g.bucket,
        prefix: g.prefix,
        access: g.access.name().to_owned(),
    }
}

fn grant_of(g: pb::GrantRecord) -> Result<Grant, Malformed> {
    Ok(Grant {
        access: g.access.parse().map_err(|_| Malformed("the grant's access level"))?,
        bucket: g.bucket,
        prefix: g.prefix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Access;

    #[test]
    fn every_command_survives_its_message() {
        let mut options = MountOptions::default();
        options.0.insert("region".into(), "eu-west-1".into());
        let cmds = [
            MetaCmd::Mount(MountEntry {
                path: "data/lake".into(),
                uri: "s3://bucket/prefix".into(),
                options,
                readonly: true,
            }),
            MetaCmd::Unmount { path: "data".into() },
            MetaCmd::SetRootCredentials(RootCredentials {
                access_key: "ak".into(),
                secret_key: "sk".into(),
            }),
            MetaCmd::AddCacheNode {
                id: 2,
                addr: "127.0.0.1:1".into(),
            },
            MetaCmd::RemoveNode { id: 3 },
            MetaCmd::SetNodeEndpoint {
                id: 4,
                s3_addr: "127.0.0.1:2".into(),
            },
            MetaCmd::AddUser(User {
                name: "ann".into(),
                access_key: "AKANN".into(),
                sealed_secret: "sealed".into(),
                grants: vec![Grant {
                    bucket: "b".into(),
                    prefix: "p/".into(),
                    access: Access::Write,
                }],
            }),
            MetaCmd::RemoveUser { name: "ann".into() },
            MetaCmd::SetUserSecret {
                name: "ann".into(),
                sealed_secret: "again".into(),
            },
            MetaCmd::Grant {
                name: "ann".into(),
                grant: Grant {
                    bucket: "b".into(),
                    prefix: String::new(),
                    access: Access::Admin,
                },
            },
            MetaCmd::Revoke {
                name: "ann".into(),
                bucket: "b".into(),
                prefix: "p/".into(),
            },
        ];
        for cmd in cmds {
            let back = MetaCmd::from_pb(cmd.clone().into_pb()).unwrap();
            assert_eq!(back, cmd);
        }
        assert!(MetaCmd::from_pb(pb::MetaCommand { cmd: None }).is_err());
    }
}
