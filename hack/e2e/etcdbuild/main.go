// Command etcd is etcd's own main (go.etcd.io/etcd's main.go), built from the
// go.etcd.io/etcd/server/v3 module through the Go module proxy: the version kubeadm's
// manifest names (registry.k8s.io/etcd:3.7.0-0), where Debian ships 3.4.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
