// Command arustio-compose-check loads a compose file with the Compose Specification's own
// loader (compose-go, the library `docker compose` uses), without any Docker daemon, and
// prints what the checks in docker/check.sh assert on as JSON.
//
// The load interpolates ${VAR:-default} from the environment and the project's .env,
// merges YAML anchors and extension fields, validates the result against the compose JSON
// schema (the loader's default), normalises it and checks its consistency (every
// depends_on names a service, every named volume is declared, ...). Any failure exits 1
// with the loader's message.
//
// Usage: arustio-compose-check [-f docker-compose.yml] [-C project-dir]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/compose-spec/compose-go/v2/cli"
)

type build struct {
	Context    string `json:"context"`
	Dockerfile string `json:"dockerfile"`
}

type volume struct {
	Type     string `json:"type"`
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"read_only"`
}

type port struct {
	HostIP    string `json:"host_ip"`
	Published string `json:"published"`
	Target    uint32 `json:"target"`
	Protocol  string `json:"protocol"`
}

type service struct {
	Image       string             `json:"image"`
	Build       *build             `json:"build"`
	DependsOn   map[string]string  `json:"depends_on"`
	Volumes     []volume           `json:"volumes"`
	Ports       []port             `json:"ports"`
	Environment map[string]*string `json:"environment"`
	Entrypoint  []string           `json:"entrypoint"`
	Command     []string           `json:"command"`
	Healthcheck []string           `json:"healthcheck"`
	Restart     string             `json:"restart"`
}

type report struct {
	Name       string             `json:"name"`
	WorkingDir string             `json:"working_dir"`
	Services   map[string]service `json:"services"`
	Volumes    []string           `json:"volumes"`
	Extensions []string           `json:"extensions"`
}

func main() {
	file := flag.String("f", "docker-compose.yml", "the compose file")
	dir := flag.String("C", ".", "the project's working directory")
	flag.Parse()

	abs, err := filepath.Abs(*dir)
	if err != nil {
		fail(err)
	}
	path := *file
	if !filepath.IsAbs(path) {
		path = filepath.Join(abs, path)
	}
	opts, err := cli.NewProjectOptions([]string{path},
		cli.WithWorkingDirectory(abs),
		cli.WithOsEnv,
		cli.WithDotEnv,
	)
	if err != nil {
		fail(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}

	out := report{
		Name:       project.Name,
		WorkingDir: project.WorkingDir,
		Services:   map[string]service{},
		Volumes:    []string{},
		Extensions: []string{},
	}
	for name := range project.Volumes {
		out.Volumes = append(out.Volumes, name)
	}
	sort.Strings(out.Volumes)
	for name := range project.Extensions {
		out.Extensions = append(out.Extensions, name)
	}
	sort.Strings(out.Extensions)

	for name, s := range project.Services {
		svc := service{
			Image:       s.Image,
			DependsOn:   map[string]string{},
			Volumes:     []volume{},
			Ports:       []port{},
			Environment: map[string]*string(s.Environment),
			Entrypoint:  []string(s.Entrypoint),
			Command:     []string(s.Command),
			Restart:     s.Restart,
		}
		if s.Build != nil {
			svc.Build = &build{Context: s.Build.Context, Dockerfile: s.Build.Dockerfile}
		}
		for dep, d := range s.DependsOn {
			svc.DependsOn[dep] = d.Condition
		}
		for _, v := range s.Volumes {
			svc.Volumes = append(svc.Volumes, volume{Type: v.Type, Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly})
		}
		for _, p := range s.Ports {
			svc.Ports = append(svc.Ports, port{HostIP: p.HostIP, Published: p.Published, Target: p.Target, Protocol: p.Protocol})
		}
		if s.HealthCheck != nil && !s.HealthCheck.Disable {
			svc.Healthcheck = []string(s.HealthCheck.Test)
		}
		out.Services[name] = svc
	}

	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "arustio-compose-check: %v\n", err)
	os.Exit(1)
}
