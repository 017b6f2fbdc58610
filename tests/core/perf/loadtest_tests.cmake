# load tester library tests
