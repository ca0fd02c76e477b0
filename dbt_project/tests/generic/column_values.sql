{#- A model's column rules in one query: each column's `config: {meta: {expect: [...]}}` in the model's YAML,
    one or more of
        not_null                      the column is never null
        not_negative                  never below zero (nulls pass)
        between: [min, max]           within [min, max], give or take 1e-6 (nulls pass)
        accepted_values: [a, b, ...]  one of the listed strings (nulls pass)
    Fails with every row that breaks any rule: `failure` says each broken rule with its value ("ttft_ms = -12.0 is
    negative; status = 'x' is not one of ok, error"), and the model's own columns say where.

    Why one test per model instead of dbt's one per column and rule: each dbt test node costs ~30 ms of dbt beside
    its query and is a Dagster check with its own events; the ~290 rules of this project were ~290 nodes and
    scanned, e.g., a day's 21 M readings up to eight times. A rule with its own `where` or a `warn` severity
    stays a test of its own. -#}
{% test column_values(model) %}
    {%- set rules = column_value_rules() %}
    select
        concat_ws('; ',
            {%- for rule in rules %}
            case when {{ rule.broken }} then {{ rule.message }} end{% if not loop.last %},{% endif %}
            {%- endfor %}
        )                                                                     as failure,
        *
    from {{ model }}
    where {% for rule in rules %}({{ rule.broken }}){% if not loop.last %} or {% endif %}{% endfor %}
{% endtest %}

