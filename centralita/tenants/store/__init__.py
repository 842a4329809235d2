"""The tenants domain's SQL: keys (`keys`), rate buckets (`rates`), which tenant owns a
call (`call_owners`), and the retention purge (`retention`)."""
