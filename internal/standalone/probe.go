package standalone

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// Probe says, at the gateway's start, what is wrong with the Masters it was given, so that an
// operator reads it in the server's log at once rather than in each batch's after a long wait:
// an RPC port or a REST server that cannot be reached, a REST server that wants signed
// requests (or refuses the signature), a web UI that does not answer, no ALIVE Master.
func (b *Backend) Probe(ctx context.Context) []string {
	var problems []string
	if b.master.HasREST() {
		problems = append(problems, b.master.probeREST(ctx)...)
	} else {
		for _, hostPort := range strings.Split(strings.TrimPrefix(b.Master(), "spark://"), ",") {
			if _, _, err := net.SplitHostPort(hostPort); err != nil {
				hostPort = net.JoinHostPort(hostPort, "7077")
			}
			conn, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", hostPort)
			if err != nil {
				problems = append(problems, fmt.Sprintf("the Spark Master's RPC port %s, to which spark-submit submits drivers, cannot be reached: %v", hostPort, err))
				continue
			}
			conn.Close()
		}
	}
	if _, _, err := b.master.Drivers(ctx); err != nil {
		problems = append(problems, fmt.Sprintf("the Spark Masters' web UIs (--standalone-web-url), whose /json/ page tells the drivers' states, do not answer: %v", err))
	}
	return problems
}

// probeRESTPath asks about a driver no Master has: a REST server that takes the request
// answers that it does not know it.
const probeRESTPath = "/v1/submissions/status/driver-sparkgate-probe"

// probeREST asks each REST server about a driver it does not have.
func (m *Master) probeREST(ctx context.Context) []string {
	var problems []string
	for _, base := range m.rest {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+probeRESTPath, nil)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if err := m.sign(req); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		resp, err := m.http.Do(req)
		if err != nil {
			problems = append(problems, fmt.Sprintf("the Spark Master's REST server %s (--standalone-rest-url) cannot be reached: %v", base, err))
			continue
		}
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			problems = append(problems, fmt.Sprintf("the Spark Master's REST server %s answered %s: %s", base, resp.Status, m.authAdvice()))
		case resp.StatusCode == http.StatusNotFound:
			problems = append(problems, fmt.Sprintf("%s answered %s: not a Spark Master's REST submission server", base, resp.Status))
		}
	}
	return problems
}
