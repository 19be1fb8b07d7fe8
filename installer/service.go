package installer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/kardianos/service"
)

// ServiceName is the system name of the background service (the systemd
// unit sealprint.service, the Windows service, the launchd label).
const ServiceName = "sealprint"

// ServiceConfig describes the background service to register.
type ServiceConfig struct {
	// Executable is the absolute path of the sealprint binary.
	Executable string
	// Arguments follow the executable (serve --service …).
	Arguments []string
	// Env is set in the service's environment (SEALPRINT_HOME).
	Env map[string]string
}

func (c ServiceConfig) kardianos() *service.Config {
	return &service.Config{
		Name:        ServiceName,
		DisplayName: "Sealed printer (sealprint)",
		Description: "Encrypts what is printed to the sealed printers and delivers it to the relay.",
		Executable:  c.Executable,
		Arguments:   c.Arguments,
		EnvVars:     c.Env,
		Option: service.KeyValue{
			// Windows: start at boot, restart after a crash.
			"StartType":              "automatic",
			"OnFailure":              "restart",
			"OnFailureDelayDuration": "5s",
			// systemd: restart quickly; launchd: keep alive.
			"Restart":   "always",
			"KeepAlive": true,
			"RunAtLoad": true,
		},
	}
}

// ErrNoServiceManager means the system's service manager is not running
// (a container, a CI machine without systemd as PID 1).
var ErrNoServiceManager = errors.New("no service manager")

// ServiceManagerMissing says why services cannot be registered here, or ""
// when they can. On Linux, systemd must be PID 1.
func ServiceManagerMissing() string {
	if runtime.GOOS != "linux" {
		return ""
	}
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		return ""
	}
	comm, _ := os.ReadFile("/proc/1/comm")
	pid1 := strings.TrimSpace(string(comm))
	if pid1 == "" {
		pid1 = "unknown"
	}
	return fmt.Sprintf("systemd is not PID 1 here (PID 1 is %s)", pid1)
}

// InstallService registers and starts the service. It returns true when it
// registered it, false when it was already there (it is then restarted,
// which repairs a stopped service).
func InstallService(c ServiceConfig) (added bool, err error) {
	if why := ServiceManagerMissing(); why != "" {
		return false, fmt.Errorf("%w: %s", ErrNoServiceManager, why)
	}
	s, err := service.New(nil, c.kardianos())
	if err != nil {
		return false, fmt.Errorf("service: %w", err)
	}
	st, err := s.Status()
	if errors.Is(err, service.ErrNotInstalled) {
		if err := s.Install(); err != nil {
			return false, fmt.Errorf("install service: %w", err)
		}
		added = true
	} else if err == nil && st == service.StatusRunning {
		if err := s.Restart(); err != nil {
			return false, fmt.Errorf("restart service: %w", err)
		}
		return false, nil
	}
	if err := s.Start(); err != nil {
		return added, fmt.Errorf("start service: %w", err)
	}
	return added, nil
}

// UninstallService stops and removes the service.
func UninstallService(c ServiceConfig) error {
	if why := ServiceManagerMissing(); why != "" {
		return fmt.Errorf("%w: %s", ErrNoServiceManager, why)
	}
	s, err := service.New(nil, c.kardianos())
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	if _, err := s.Status(); errors.Is(err, service.ErrNotInstalled) {
		return nil
	}
	s.Stop()
	if err := s.Uninstall(); err != nil {
		return fmt.Errorf("uninstall service: %w", err)
	}
	return nil
}

// RunService runs run as the background service. On Windows, started by
// the service control manager, it answers the manager (start, stop,
// shutdown) and run's context ends when the manager asks the service to
// stop; started from a console it just runs. Elsewhere systemd and launchd
// stop the service with SIGTERM, which ctx already carries.
func RunService(ctx context.Context, c ServiceConfig, run func(ctx context.Context) error) error {
	if handled, err := runUnderManager(ctx, run); handled {
		return err
	}
	return run(ctx)
}
