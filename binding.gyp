{
  "targets": [
    {
      "target_name": "readiness",
      "sources": ["native/readiness.c"],
      "cflags": ["-Wall", "-Wextra"],
      "libraries": ["-ldl"]
    }
  ]
}
