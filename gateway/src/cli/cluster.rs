//! `arustio cluster ...`: the cluster's members and roles, adding and removing nodes.

use arustio_proto::admin::{AddNodeRequest, ClusterStatusRequest, RemoveNodeRequest};
use arustio_raft::ClusterStatus;

use super::table::print_table;
use super::{CliError, Client};

/// Commands of `arustio cluster`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ClusterCmd {
    /// Members, roles, leader, term, last applied index and each node's lag.
    #[command(after_help = "Example:\n  arustio cluster status --json")]
    Status {
        /// Machine-readable output (fields include `leader` and `members`).
        #[arg(long)]
        json: bool,
        /// This node's own view (its applied index and snapshot), not the leader's.
        #[arg(long)]
        local: bool,
    },
    /// Add a node: a learner, then a voter once caught up (unless --learner).
    #[command(after_help = "Example:\n  arustio cluster add-node 4 10.0.0.4:50051")]
    AddNode {
        /// The new node's id (its --node-id).
        id: u64,
        /// The new node's gRPC address (its --advertise-addr), HOST:PORT.
        addr: String,
        /// Make it a voter (the default).
        #[arg(long, conflicts_with = "learner")]
        voter: bool,
        /// Keep it a learner: it replicates but does not vote.
        #[arg(long)]
        learner: bool,
    },
    /// Remove a node from the cluster.
    #[command(after_help = "Example:\n  arustio cluster remove-node 3")]
    RemoveNode {
        /// The node's id.
        id: u64,
    },
}

fn print(status: &ClusterStatus) {
    let leader = status.leader.map_or_else(|| "none".to_owned(), |l| l.to_string());
    let opt = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
    println!(
        "leader: {leader}  term: {}  last applied: {}  last log: {}  snapshot: {}  (answered by node {})",
        status.term,
        opt(status.last_applied),
        opt(status.last_log_index),
        opt(status.snapshot),
        status.node
    );
    let rows: Vec<[String; 4]> = status
        .members
        .iter()
        .map(|m| [m.id.to_string(), m.role.clone(), m.addr.clone(), opt(m.lag)])
        .collect();
    print_table(["ID", "ROLE", "ADDRESS", "LAG"], &rows);
}

pub(crate) async fn run(cmd: ClusterCmd, c: &mut Client) -> Result<(), CliError> {
    let status = match cmd {
        ClusterCmd::Status { json, local } => {
            let status = ClusterStatus::from(c.cluster_status(ClusterStatusRequest { local }).await?.into_inner());
            if json {
                let json = serde_json::to_string(&status).map_err(|e| CliError::Status(e.to_string()))?;
                println!("{json}");
                return Ok(());
            }
            status
        }
        ClusterCmd::AddNode { id, addr, learner, .. } => {
            let request = AddNodeRequest {
                id,
                addr,
                voter: !learner,
            };
            let status = ClusterStatus::from(c.add_node(request).await?.into_inner());
            println!("added node {id} as a {}", if learner { "learner" } else { "voter" });
            status
        }
        ClusterCmd::RemoveNode { id } => {
            let status = ClusterStatus::from(c.remove_node(RemoveNodeRequest { id }).await?.into_inner());
            println!("removed node {id}");
            status
        }
    };
    print(&status);
    Ok(())
}
