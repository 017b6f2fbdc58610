# cache benchmark library tests
