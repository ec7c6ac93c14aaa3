package hubtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/agentlens/agentlens/model/hub/hubtest"
)

// ExampleNewServer serves one generated wheel and reads its release document as a client would.
func ExampleNewServer() {
	srv := hubtest.NewServer(hubtest.File{
		Project: "tiny-model", Version: "0.1.0",
		Data: hubtest.NewWheel("tiny-model", "0.1.0", hubtest.Entry{Name: "tiny_model/w.bin", Data: []byte("w")}),
	})
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/pypi/tiny-model/0.1.0/json")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var doc struct {
		URLs []struct {
			Filename    string `json:"filename"`
			PackageType string `json:"packagetype"`
			URL         string `json:"url"`
		} `json:"urls"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range doc.URLs {
		fmt.Println(f.PackageType, f.Filename, f.URL)
	}
	// Output:
	// bdist_wheel tiny_model-0.1.0-py3-none-any.whl /files/tiny_model-0.1.0-py3-none-any.whl
}
