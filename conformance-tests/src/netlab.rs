//! Test hosts in network namespaces made by the test itself: one namespace per node, each
//! with a veth into a bridge in the test's namespace, so links can be cut and healed.
//! Needs root (CAP_NET_ADMIN) and iproute2; [`NetLab::new`] says why when it cannot.

use std::process::Command;

/// Namespaces `ns0..n`, addresses `10.213.X.1..n`, a bridge at `10.213.X.254`.
pub struct NetLab {
    tag: String,
    n: usize,
    subnet: u32,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl NetLab {
    /// Builds the lab, or says why it cannot be built here.
    pub fn new(n: usize) -> Result<Self, String> {
        let pid = std::process::id();
        let lab = Self {
            tag: format!("ar{}", pid % 100_000),
            n,
            subnet: 100 + pid % 150,
        };
        lab.build().inspect_err(|_| lab.teardown())?;
        Ok(lab)
    }

    fn ns(&self, i: usize) -> String {
        format!("{}n{i}", self.tag)
    }

    fn veth(&self, i: usize) -> String {
        format!("{}v{i}", self.tag)
    }

    fn bridge(&self) -> String {
        format!("{}br", self.tag)
    }

    /// The address of node `i`.
    pub fn addr(&self, i: usize) -> String {
        format!("10.213.{}.{}", self.subnet, i + 1)
    }

    /// The command prefix that runs a program in node `i`'s namespace.
    pub fn wrapper(&self, i: usize) -> Vec<String> {
        vec!["ip".into(), "netns".into(), "exec".into(), self.ns(i)]
    }

    fn build(&self) -> Result<(), String> {
        let br = self.bridge();
        ip(&["link", "add", &br, "type", "bridge"])?;
        ip(&["addr", "add", &format!("10.213.{}.254/24", self.subnet), "dev", &br])?;
        ip(&["link", "set", &br, "up"])?;
        for i in 0..self.n {
            let (ns, veth, peer) = (self.ns(i), self.veth(i), format!("{}p{i}", self.tag));
            ip(&["netns", "add", &ns])?;
            ip(&["link", "add", &veth, "type", "veth", "peer", "name", &peer])?;
            ip(&["link", "set", &peer, "netns", &ns])?;
            ip(&["link", "set", &veth, "master", &br])?;
            ip(&["link", "set", &veth, "up"])?;
            let inside = |args: &[&str]| {
                let mut all = vec!["netns", "exec", ns.as_str(), "ip"];
                all.extend_from_slice(args);
                ip(&all)
            };
            inside(&["link", "set", "lo", "up"])?;
            inside(&["addr", "add", &format!("{}/24", self.addr(i)), "dev", &peer])?;
            inside(&["link", "set", &peer, "up"])?;
        }
        Ok(())
    }

    /// Cuts node `i` off the network.
    pub fn cut(&self, i: usize) {
        let _ = ip(&["link", "set", &self.veth(i), "down"]);
    }

    /// Puts node `i` back.
    pub fn heal(&self, i: usize) {
        let _ = ip(&["link", "set", &self.veth(i), "up"]);
    }

    fn teardown(&self) {
        for i in 0..self.n {
            let _ = ip(&["link", "del", &self.veth(i)]);
            let _ = ip(&["netns", "del", &self.ns(i)]);
        }
        let _ = ip(&["link", "del", &self.bridge()]);
    }
}

impl Drop for NetLab {
    fn drop(&mut self) {
        self.teardown();
    }
}
