package installer

import (
	"context"
	"errors"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
)

// runUnderManager connects to the service control manager and runs run
// until the manager stops the service. handled is false when the process
// was not started by the manager (a console run).
func runUnderManager(ctx context.Context, run func(ctx context.Context) error) (handled bool, err error) {
	h := &handler{ctx: ctx, run: run}
	err = svc.Run(ServiceName, h)
	if errors.Is(err, windows.ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	return true, h.err
}

// handler answers the service control manager.
type handler struct {
	ctx context.Context
	run func(ctx context.Context) error
	err error
}

func (h *handler) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.run(ctx) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case err := <-done:
			// Ended by itself: a failure the manager's recovery restarts.
			h.err = err
			status <- svc.Status{State: svc.Stopped}
			if err != nil {
				return true, 1
			}
			return false, 0
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending}
				cancel()
				h.err = <-done
				return false, 0
			}
		}
	}
}
