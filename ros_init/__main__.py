from ros_init.cli import main

raise SystemExit(main())
