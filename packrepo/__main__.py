from packrepo.cli import main

raise SystemExit(main())
