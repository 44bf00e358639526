// The server every workload of the real-node tests runs, under the image name its cluster
// declares: it answers HTTP on each port the workload declares (the image's own environment
// names them in CLUSTERDEF_TEST_PORTS, written when the test builds the image; 8080 when none),
// saying which pod answered, so a test that asks through a Service learns where the answer came
// from. `server get URL` is the test's client inside a pod: it prints what URL answered (the
// pod's own resolver, CoreDNS, names a Service), or fails.
package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"time"
)

func get(url string) {
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil || resp.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "%s: %d %v\n", url, resp.StatusCode, err)
		os.Exit(1)
	}
	os.Stdout.Write(body)
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "get" {
		get(os.Args[2])
		return
	}
	ports := strings.Fields(strings.ReplaceAll(os.Getenv("CLUSTERDEF_TEST_PORTS"), ",", " "))
	if len(ports) == 0 {
		ports = []string{"8080"}
	}
	host, _ := os.Hostname()
	answer := func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "pod=%s\n", host)
	}
	errs := make(chan error, len(ports))
	for _, port := range ports {
		go func(port string) { errs <- http.ListenAndServe(":"+port, http.HandlerFunc(answer)) }(port)
	}
	log.Fatal(<-errs)
}
