//go:build !unix

package diskfull

import "syscall"

// errQuota is the errno of an exceeded disk quota (none here).
const errQuota = syscall.ENOSPC
