module github.com/agentlens/agentlens

go 1.27.0
