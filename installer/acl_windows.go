package installer

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// serviceDirSDDL gives full control to LocalSystem and Administrators only,
// for the directory and all it will contain, inheriting nothing from the
// parent (%ProgramData% lets every user read).
const serviceDirSDDL = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"

// RestrictDir makes dir readable by the service and administrators only:
// its config holds the enrolment token and its spool the jobs.
func RestrictDir(dir string) error {
	sd, err := windows.SecurityDescriptorFromString(serviceDirSDDL)
	if err != nil {
		return fmt.Errorf("restrict %s: %w", dir, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("restrict %s: %w", dir, err)
	}
	err = windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
	if err != nil {
		return fmt.Errorf("restrict %s: %w", dir, err)
	}
	return nil
}
