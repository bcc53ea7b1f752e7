-- The tables and columns of the original framework's control schema, to name what is missing.
SELECT table_name::text, column_name::text
FROM information_schema.columns
WHERE table_schema = %(schema)s
