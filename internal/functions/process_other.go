//go:build !unix

package functions

import "os/exec"

func setProcessGroup(*exec.Cmd) {}
func terminate(cmd *exec.Cmd)   { cmd.Process.Kill() }
func kill(cmd *exec.Cmd)        { cmd.Process.Kill() }
