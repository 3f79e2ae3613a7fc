// The listeners see every measurement in the process: one test at a time keeps each test's counts its own.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
