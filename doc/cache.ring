# four cache servers; cache-d has twice the memory
cache-a
cache-b
cache-c
cache-d 2
