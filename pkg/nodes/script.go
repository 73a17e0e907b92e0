// Package nodes reads certificates from nodes' disks through short-lived debug pods:
// one unprivileged pod per node, read-only hostPath mounts of the certificate
// directories, a POSIX sh script that prints only certificates, and deletion of every
// pod on success, failure, timeout and interrupt.
package nodes

// Script runs in the debug pod (busybox sh). Usage: sh -c Script certdoctor ROOT DIR...
// It prints, for each file under each DIR (three levels deep, as /etc/kubernetes/pki/etcd):
//
//	### CERT path   then only the lines of its CERTIFICATE PEM blocks, then ### END
//	### CONF path   then only client-certificate-data, client-certificate and server
//	                lines of a kubeconfig, then ### END
//	### KEY path    for a key file: its existence, never its content
//	### PUB path    for a .pub file (sa.pub): only the lines of its PUBLIC KEY blocks
//
// plus ### DIR / ### NODIR for each directory. A private key never leaves the node: the
// awk filter prints a line only inside a BEGIN/END CERTIFICATE pair and any other
// "-----" marker (a key's BEGIN line) closes the block, so a file holding a certificate
// and its key together (kubelet-client-current.pem) yields the certificate alone.
// ROOT prefixes every path (the tests run the script on a directory tree; pods use "").
const Script = `set -u
root=$1; shift
for d in "$@"; do
  if [ ! -d "$root$d" ]; then echo "### NODIR $d"; continue; fi
  find "$root$d" -maxdepth 3 \( -type d -o -type f -o -type l \) 2>/dev/null | sort | while read -r f; do
    p=${f#"$root"}
    if [ -d "$f" ]; then echo "### DIR $p"; continue; fi
    case "$f" in
      *.key) echo "### KEY $p" ;;
      *.crt|*.pem|*.cert)
        echo "### CERT $p"
        awk '/^-----BEGIN CERTIFICATE-----[ \t\r]*$/ { inb = 1; print "-----BEGIN CERTIFICATE-----"; next }
             /^-----END CERTIFICATE-----[ \t\r]*$/ { if (inb) print "-----END CERTIFICATE-----"; inb = 0; next }
             /^-----/ { inb = 0; next }
             inb && /^[A-Za-z0-9+\/=]+[ \t\r]*$/ { print }
             inb && !/^[A-Za-z0-9+\/=]+[ \t\r]*$/ { inb = 0 }' "$f" 2>/dev/null
        echo "### END" ;;
      *.pub)
        echo "### PUB $p"
        awk '/^-----BEGIN (RSA )?PUBLIC KEY-----[ \t\r]*$/ { inb = 1; t = ($2 == "RSA") ? "RSA PUBLIC KEY" : "PUBLIC KEY"; print "-----BEGIN " t "-----"; next }
             /^-----END (RSA )?PUBLIC KEY-----[ \t\r]*$/ { if (inb) print "-----END " t "-----"; inb = 0; next }
             /^-----/ { inb = 0; next }
             inb && /^[A-Za-z0-9+\/=]+[ \t\r]*$/ { print }
             inb && !/^[A-Za-z0-9+\/=]+[ \t\r]*$/ { inb = 0 }' "$f" 2>/dev/null
        echo "### END" ;;
      *.conf)
        echo "### CONF $p"
        awk '$1 == "client-certificate-data:" || $1 == "client-certificate:" || $1 == "server:" { print $1, $2 }' "$f" 2>/dev/null
        echo "### END" ;;
    esac
  done
done
echo "### DONE"
`
