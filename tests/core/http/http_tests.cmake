# Component tests are registered here.
