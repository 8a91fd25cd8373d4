//go:build !amd64 || purego

package kernel

// Supported reports whether this CPU can run the named kernel; only the
// pure-Go kernel exists on this platform.
func Supported(name string) bool { return name == Generic }

func newSIMD(string) *Impl { return newGeneric() }
