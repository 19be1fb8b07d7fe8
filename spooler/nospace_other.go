//go:build !unix

package spooler

import "syscall"

// errQuota is the errno of an exceeded disk quota (none here).
const errQuota = syscall.ENOSPC
