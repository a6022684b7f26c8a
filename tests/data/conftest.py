"""The handmade corpus holds fixture projects, with their own tests: never collect them."""

collect_ignore_glob = ["corpus/*"]
