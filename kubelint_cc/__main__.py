from kubelint_cc.cli import main

main()
