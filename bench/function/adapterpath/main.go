// Command adapterpath prints where the shipped Python adapter is written
// out, so that bench/functions can start a second copy of it directly.
package main

import (
	"fmt"
	"log"

	"github.com/apigw/apigw/internal/functions"
)

func main() {
	cmd, err := functions.AdapterCommand("python")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cmd[1])
}
