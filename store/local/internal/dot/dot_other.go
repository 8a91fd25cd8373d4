//go:build !amd64 || purego

package dot

// best is the portable implementation on this platform or build.
var best = genericKernel

// kernels returns every implementation this build can run, for tests.
func kernels() []kernel { return []kernel{genericKernel} }
