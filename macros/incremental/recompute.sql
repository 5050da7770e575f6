{#
    The `recompute` incremental strategy: the one incremental mechanism of the project
    (docs/data-contract.md#incremental-builds).

    Every incremental model has a recompute unit: its `unique_key` (a flow, an event timestamp,
    a user or a day), and declares how raw changes map to it in `meta.recompute`:

        {'changes': 'flow' | 'activity',   the raw event stream whose changes touch the model
         'unit': 'flow_id' | 'timestamp' | 'uid' | 'day',
         'days_before': D, 'days_after': A, (day units) a changed day d touches [d - D, d + A]
         'full_window_days': K,             (day units) also the days whose `full_window` flag
                                            flips when the first loaded day moves
         'first_seen_days': true,           (day units, activity) the rows carry each uid's
                                            users_first_seen.first_seen_day: also the days of
                                            the stored rows of the uids whose first day moves
         'latest_window_days': K,           (day units, activity) rows within K days before the
                                            latest loaded activity day depend on it: also the
                                            days whose rows flip when that latest day moves
         'day_column': 'cohort_day',        (with latest_window_days) the unit's column, when
                                            not `day`
         'uid_event_days': 'event.type'}    (day units, activity) also the days of the events
                                            of that type of every uid whose events of that type
                                            changed (a user's cohort is one of them)

    A run then:
      1. reads the model's watermark: max(`_loaded_at`) of its own table;
      2. takes the changes since it: raw rows loaded after it, and rows the loader retracted
         after it (a `--force` reload or an `--unload` deletes rows and records their keys);
      3. maps them to touched units (`touched(column)`, a predicate used by the model to select
         what it recomputes, and by the strategy to delete);
      4. deletes every touched unit from the table, including units that now have no row at
         all, and inserts the recomputed rows: one transaction (the materialization's).
    Recomputing a unit reads all of its inputs, so the result equals a full rebuild whatever
    order files were loaded, replaced or unloaded in. The SQL is the same in production and in
    unit tests (where `this` is a fixture): no value is read at compile time.
#}

{% macro get_incremental_recompute_sql(arg_dict) %}
    {{ return(adapter.dispatch('recompute_sql', 'fxa_metrics')(arg_dict)) }}
{% endmacro %}

{% macro default__recompute_sql(arg_dict) %}
    {%- set unit = arg_dict['unique_key'] -%}
    {%- if unit is none or unit is not string -%}
        {{ exceptions.raise_compiler_error(
            "incremental_strategy 'recompute' needs unique_key, the model's recompute unit (one"
            ~ " column), in " ~ this) }}
    {%- endif -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }}
    where {{ fxa_metrics.touched(unit) }};

    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }}
    from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

{#-
    recompute_indexes(unit): the `indexes` config of a model built by this strategy, on
    Postgres only: its unit (the key of the delete) and `_loaded_at` (the watermark's max()), so
    that an incremental run looks up the touched units and the latest load time instead of
    reading the whole table each time (the loader indexes the raw tables' load times the same
    way). Measured on the benchmark's Postgres warehouse (7 days x 5,000 flows), a build with
    nothing new: 21-24 s of model time without these indexes, 14-15 s with them. Redshift
    prunes by sort keys and DuckDB by zone maps: nothing there.

        config(unique_key='flow_id', indexes=fxa_metrics.recompute_indexes('flow_id'), ...)

    `also`: more columns an incremental run looks rows up by, one index each (the uid of
    activity_events and users_last_seen: the per-user tables read the rows of changed uids).
-#}
{% macro recompute_indexes(unit, also=[]) %}
    {{ return(adapter.dispatch('recompute_indexes', 'fxa_metrics')(unit, also)) }}
{% endmacro %}

{#- An empty list, not none: dbt's create_indexes() iterates over the config. -#}
{% macro default__recompute_indexes(unit, also) %}
    {{ return([]) }}
{% endmacro %}

{% macro postgres__recompute_indexes(unit, also) %}
    {%- set indexes = [{'columns': [unit]}, {'columns': ['_loaded_at']}] -%}
    {%- for column in also -%}
        {%- do indexes.append({'columns': [column]}) -%}
    {%- endfor -%}
    {{ return(indexes) }}
{% endmacro %}

{#- dbt-redshift would fall back on postgres__: Redshift has no indexes. -#}
{% macro redshift__recompute_indexes(unit, also) %}
    {{ return([]) }}
{% endmacro %}

{#-
    recompute_config(recompute, ...): the one config call of a model built by this strategy.
    From the model's recompute declaration (meta.recompute) it sets the unique key (the unit:
    `day`, `flow_id`, `uid`, or `"timestamp"` quoted, a reserved word in Redshift), the meta
    the strategy reads at run time and the Postgres indexes (recompute_indexes()); `dist` and
    `sort` are the model's Redshift keys, set on the redshift target only. The strategy and
    the rest of the config come from dbt_project.yml (marts/, metrics/).

        {{ fxa_metrics.recompute_config(recompute, dist='flow_id', sort='begin_time') }}

    `unique_key`: when the table's day column is not named `day` (the unit `day` of
    kpi_retention_daily is its `cohort_day`). `index_also`: more columns an incremental run
    looks rows up by (recompute_indexes()).
-#}
{% macro recompute_config(recompute, dist, sort, unique_key=none, index_also=[]) %}
    {%- set spec = fxa_metrics.recompute_spec(recompute) -%}
    {%- set unit = '"timestamp"' if spec['unit'] == 'timestamp' else spec['unit'] -%}
    {%- set key = unique_key if unique_key is not none else unit -%}
    {%- set redshift = target.type == 'redshift' -%}
    {%- do config(
        unique_key=key,
        meta={'recompute': spec},
        indexes=fxa_metrics.recompute_indexes(key, also=index_also),
        dist=(dist if redshift else none),
        sort=(sort if redshift else none),
    ) -%}
{% endmacro %}

{#- The model's recompute declaration, checked: `spec` as the model passes it (dbt's config is
    not readable while a project is parsed, when the refs it implies must be rendered), else
    the model's `meta.recompute` (at run time, for the strategy). -#}
{% macro recompute_spec(spec=none) %}
    {%- if spec is none -%}
        {%- set spec = (config.get('meta') or {}).get('recompute') -%}
    {%- endif -%}
    {%- if spec is not mapping
        or spec.get('changes') not in ['flow', 'activity']
        or spec.get('unit') not in ['flow_id', 'timestamp', 'uid', 'day']
        or (spec.get('unit') == 'uid' and spec.get('changes') != 'activity') -%}
        {{ exceptions.raise_compiler_error(
            "model " ~ this ~ " uses the recompute strategy: it needs meta.recompute = "
            ~ "{changes: flow|activity, unit: flow_id|timestamp|uid|day, ...} (a uid unit on "
            ~ "activity changes), got: " ~ spec) }}
    {%- endif -%}
    {%- for key in ['first_seen_days', 'latest_window_days', 'uid_event_days']
        if spec.get(key) is not none and (spec['unit'] != 'day' or spec['changes'] != 'activity') -%}
        {{ exceptions.raise_compiler_error(
            "meta.recompute." ~ key ~ " needs a day unit on activity changes, in " ~ this) }}
    {%- endfor -%}
    {{ return(spec) }}
{% endmacro %}

{#-
    watermark(): the load time up to which the model's table is built, as a scalar subquery:
    max(`_loaded_at`) of `this` (the epoch for an empty table). `_loaded_at` of a row is the
    latest raw `loaded_at` among its inputs, the same whether built incrementally or not.
-#}
{% macro watermark() -%}
    (
        select coalesce(max(built._loaded_at), {{ fxa_metrics.epoch_timestamp() }})
        from {{ this }} as built
    )
{%- endmacro %}

{% macro epoch_timestamp() -%}
    cast('1970-01-01 00:00:00' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#-
    changes(stream): the keys of the raw rows of `stream` that were loaded or retracted after
    the model's watermark. 'flow': flow_id and "timestamp"; 'activity': "timestamp", uid and
    type, the type NULL for a retraction (a retraction records the keys, not the type: it
    counts as a change of any type).
-#}
{% macro changes(stream) %}
    {%- if stream == 'flow' -%}
        {%- set loaded, retracted = ref('stg_fxa__flow_events'),
            ref('stg_fxa__retracted_flow_events') -%}
        {%- set keys, retracted_keys = 'flow_id, "timestamp"', 'flow_id, "timestamp"' -%}
    {%- elif stream == 'activity' -%}
        {%- set loaded, retracted = ref('stg_fxa__activity_events'),
            ref('stg_fxa__retracted_activity_events') -%}
        {%- set keys = '"timestamp", uid, type' -%}
        {%- set retracted_keys = '"timestamp", uid, cast(null as ' ~ dbt.type_string()
            ~ ') as type' -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error("changes(): unknown stream " ~ stream) }}
    {%- endif -%}
    select {{ keys }}
    from {{ loaded }}
    where loaded_at > {{ fxa_metrics.watermark() }}
    union all
    select {{ retracted_keys }}
    from {{ retracted }}
    where retracted_at > {{ fxa_metrics.watermark() }}
{%- endmacro %}

{#-
    touched(column): a predicate on `column` (the unit, or an expression of it) true for the
    units the changes touch, per the model's meta.recompute. `1 = 1` on a full build. The refs
    are rendered on every call, so that dbt records them at parse time.
    `changed_filter` (flow and timestamp units): a condition on the changed keys (`changed.`
    flow_id, `changed."timestamp"`) that narrows the touched units to those it holds for.
-#}
{% macro touched(column, spec=none, changed_filter=none) %}
    {%- set spec = fxa_metrics.recompute_spec(spec) -%}
    {%- set changes = fxa_metrics.changes(spec['changes']) -%}
    {%- if not is_incremental() -%}
        {{ return('1 = 1') }}
    {%- endif -%}
    {%- set where = (' where ' ~ changed_filter) if changed_filter is not none else '' -%}
    {%- if spec['unit'] == 'uid' -%}
        {{ return(column ~ ' in (select changed.uid from (' ~ changes ~ ') as changed'
            ~ where ~ ')') }}
    {%- elif spec['unit'] == 'flow_id' -%}
        {{ return(column ~ ' in (select changed.flow_id from (' ~ changes ~ ') as changed'
            ~ where ~ ')') }}
    {%- elif spec['unit'] == 'timestamp' -%}
        {{ return(column ~ ' in (select changed."timestamp" from (' ~ changes ~ ') as changed'
            ~ where ~ ')') }}
    {%- endif -%}
    {%- if changed_filter is not none -%}
        {{ exceptions.raise_compiler_error(
            "touched(): changed_filter needs a flow, timestamp or uid unit, in " ~ this) }}
    {%- endif -%}
    {%- set in_range = column ~ ' between (select touched_days.first_day from ('
        ~ fxa_metrics.touched_day_range(spec) ~ ') as touched_days) and (select touched_days.last_day from ('
        ~ fxa_metrics.touched_day_range(spec) ~ ') as touched_days)' -%}
    {%- if spec.get('uid_event_days') is not none -%}
        {{ return('(' ~ in_range ~ ' or ' ~ column ~ ' in ('
            ~ fxa_metrics.touched_uid_event_days(spec) ~ '))') }}
    {%- endif -%}
    {{ return(in_range) }}
{% endmacro %}

{#-
    touched_uid_event_days(): for a day unit with `uid_event_days: T`, the days of the events
    of type T (in activity_events, as they stand now) of every uid with a changed event of type
    T, or with a retraction (whose type is not recorded). A user's cohort, the day of its
    earliest event of type T, moves only when one of its events of type T is added or removed;
    its old cohort was then the day of one of its remaining events of type T (or of a removed
    one, a changed day, which the model's range covers) and its new cohort is the day of one of
    them: both are touched. Not a range: a user's events of type T can lie far apart.
-#}
{% macro touched_uid_event_days(spec=none) %}
    {%- set spec = fxa_metrics.recompute_spec(spec) -%}
    {%- set changes = fxa_metrics.changes(spec['changes']) -%}
    {%- set events = ref('activity_events') -%}
    {%- set event_type = spec['uid_event_days'] -%}
    select cast(uid_events."timestamp" as date) as day
    from {{ events }} as uid_events
    where
        uid_events.type = '{{ event_type }}'
        and uid_events.uid in (
            select changed.uid
            from ({{ changes }}) as changed
            where changed.type = '{{ event_type }}' or changed.type is null
        )
{%- endmacro %}

{#-
    touched_day_range(): for a model whose unit is a day, a one-row relation (first_day,
    last_day), the range of days the changes touch: from the first changed day (minus
    days_before) to the last one (plus days_after), widened by `full_window_days`,
    `latest_window_days` and `first_seen_days` (meta.recompute, above). Contiguous, so a sort key / zone map on the
    day prunes it; a day between two changed days is recomputed too, which is merely redundant.
    On a full build, every day (1900-01-01 to 9999-12-31), so that a model can use it on both.
-#}
{% macro touched_day_range(spec=none) %}
    {%- set spec = fxa_metrics.recompute_spec(spec) -%}
    {%- set changes = fxa_metrics.changes(spec['changes']) -%}
    {%- if spec.get('full_window_days') is not none -%}
        {%- set first_loaded = ref('activity_events') -%}
    {%- endif -%}
    {%- if spec.get('latest_window_days') is not none -%}
        {%- set latest_loaded = ref('activity_events') -%}
    {%- endif -%}
    {%- if spec.get('first_seen_days') -%}
        {%- set first_seen = ref('users_first_seen') -%}
    {%- endif -%}
    {%- if spec['unit'] != 'day' -%}
        {{ exceptions.raise_compiler_error(
            "touched_day_range(): " ~ this ~ " does not have a day as its recompute unit") }}
    {%- endif -%}
    {%- if not is_incremental() -%}
        select
            cast('1900-01-01' as date) as first_day,
            cast('9999-12-31' as date) as last_day
    {%- else -%}
    {%- set days_before = spec.get('days_before', 0) | int -%}
    {%- set days_after = spec.get('days_after', 0) | int -%}
    {%- set changed_day = 'cast(changed."timestamp" as date)' -%}
    {%- set last_day = 'max(' ~ changed_day ~ ')' -%}
    {%- set full_window_days = spec.get('full_window_days') -%}
    {%- if full_window_days is not none -%}
        {#- full_window(day) is "the first loaded day <= day - K". When the first loaded day
            moves from f0 (when the table was last built) to f1 (now), the days whose flag
            flips lie in [min(f0, f1) + K, max(f0, f1) + K - 1]. The move is a change on the
            earlier of the two (data added on f1 < f0, or f0's data retracted), so the first
            changed day e <= min(f0, f1). f1 is the first day of the parent now; f0 is not
            stored, but the table's own first day is on or after it (every row is a day with
            activity data): the range [e, max(last changed day, f1, first built day) + K]
            holds every flipped day, whether the first day moved back (late data) or forward
            (retracted data). -#}
        {%- if spec['changes'] != 'activity' or (full_window_days | int) != days_after -%}
            {{ exceptions.raise_compiler_error(
                "meta.recompute.full_window_days must equal days_after, on activity changes, in "
                ~ this) }}
        {%- endif -%}
        {%- set last_day = 'max(case when ' ~ changed_day ~ ' > first_loaded.day then '
            ~ changed_day ~ ' else first_loaded.day end)' -%}
    {%- endif -%}
    {%- set first_day = 'changed_days.first_day' -%}
    {%- set last_day_expr = 'changed_days.last_day' -%}
    {%- set latest_window_days = spec.get('latest_window_days') -%}
    {%- set day_column = spec.get('day_column', 'day') -%}
    {%- if latest_window_days is not none -%}
        {#- A row within K days before the latest loaded activity day depends on that day
            (a week not over yet). When the latest day moves from l0 (when the table was last
            built) to l1 (now), the rows that flip lie in [min(l0, l1) - K, max(l0, l1)]. l1 is
            the latest day of activity_events now; l0 is not stored, but the table's own latest
            day is on or before it (every row is a day with activity data) and after l0 - K
            only K days can hold rows: [min(l1, latest built day) - K, max(...)] holds every
            flipped row, when the latest day moves forward (new data) or back (retracted). -#}
        {%- set low = 'cast(' ~ dbt.dateadd('day', -(latest_window_days | int), 'latest.low_day')
            ~ ' as date)' -%}
        {%- set first_day = 'case when changed_days.first_day is null then null when ' ~ low
            ~ ' < changed_days.first_day then ' ~ low ~ ' else changed_days.first_day end' -%}
        {%- set last_day_expr = 'case when changed_days.last_day is null then null'
            ~ ' when latest.high_day > changed_days.last_day then latest.high_day'
            ~ ' else changed_days.last_day end' -%}
    {%- endif -%}
    {%- if spec.get('first_seen_days') -%}
        {#- A row (day, uid) carries the uid's first_seen_day. It moves only when a change of
            that uid lies on or before its first day: an earlier event added (its day is the
            new first day) or the first day's events removed (the new first day is later, or
            the uid is gone). The stored rows of such a uid all lie on or after its changed
            day, so the range is extended to the latest day the table holds for one of them. -#}
        {%- set last_day_expr = 'case when (' ~ last_day_expr ~ ') is null then null'
            ~ ' when moved_first_seen.day > (' ~ last_day_expr ~ ') then moved_first_seen.day'
            ~ ' else (' ~ last_day_expr ~ ') end' -%}
    {%- endif %}
        select
            cast({{ first_day }} as date) as first_day,
            cast({{ last_day_expr }} as date) as last_day
        from (
            select
                cast({{ dbt.dateadd('day', -days_before, 'min(' ~ changed_day ~ ')') }} as date)
                    as first_day,
                cast({{ dbt.dateadd('day', days_after, last_day) }} as date) as last_day
            from ({{ changes }}) as changed
            {%- if full_window_days is not none %}
            cross join (
                {#- the later of the first day loaded now and the first day of the table as built #}
                select
                    case
                        when built.day > loaded.day then built.day
                        else loaded.day
                    end as day
                from (
                    select
                        coalesce(cast(min(loaded."timestamp") as date), cast('1970-01-01' as date))
                            as day
                    from {{ first_loaded }} as loaded
                ) as loaded
                cross join (
                    select coalesce(min(built.day), cast('1970-01-01' as date)) as day
                    from {{ this }} as built
                ) as built
            ) as first_loaded
            {%- endif %}
        ) as changed_days
        {%- if latest_window_days is not none %}
        cross join (
            {#- the earlier and the later of the latest day loaded now and as built -#}
            select
                case
                    when latest_now.day is null then latest_built.day
                    when latest_built.day is null then latest_now.day
                    when latest_now.day < latest_built.day then latest_now.day
                    else latest_built.day
                end as low_day,
                case
                    when latest_now.day is null then latest_built.day
                    when latest_built.day is null then latest_now.day
                    when latest_now.day > latest_built.day then latest_now.day
                    else latest_built.day
                end as high_day
            from (
                select cast(max(loaded."timestamp") as date) as day
                from {{ latest_loaded }} as loaded
            ) as latest_now
            cross join (
                select max(built.{{ day_column }}) as day
                from {{ this }} as built
            ) as latest_built
        ) as latest
        {%- endif %}
        {%- if spec.get('first_seen_days') %}
        cross join (
            select max(built.day) as day
            from {{ this }} as built
            inner join (
                select
                    changed.uid,
                    min(cast(changed."timestamp" as date)) as day
                from ({{ changes }}) as changed
                left join {{ first_seen }} as first_seen on changed.uid = first_seen.uid
                where
                    first_seen.uid is null
                    or cast(changed."timestamp" as date) <= first_seen.first_seen_day
                group by changed.uid
            ) as moved
                on
                    built.uid = moved.uid
                    and built.day >= moved.day
        ) as moved_first_seen
        {%- endif %}
    {%- endif -%}
{% endmacro %}

{#-
    changed_time_range(column, margin_hours): on an incremental run, `column` (a timestamp)
    within [first changed timestamp - margin, last changed timestamp + margin] of the model's
    stream; `1 = 1` on a full build. A constant-per-run range that lets the scan of a large
    table skip what no change can reach (flow events lie within a flow's lifetime of each other).
-#}
{% macro changed_time_range(column, margin_hours=0, spec=none) %}
    {%- set spec = fxa_metrics.recompute_spec(spec) -%}
    {%- set changes = fxa_metrics.changes(spec['changes']) -%}
    {%- if not is_incremental() -%}
        {{ return('1 = 1') }}
    {%- endif -%}
    {%- set margin = margin_hours | int -%}
    {{ return(column ~ ' between (select '
        ~ dbt.dateadd('hour', -margin, 'min(changed."timestamp")')
        ~ ' from (' ~ changes ~ ') as changed) and (select '
        ~ dbt.dateadd('hour', margin, 'max(changed."timestamp")')
        ~ ' from (' ~ changes ~ ') as changed)') }}
{% endmacro %}

{#- The flow lookaround, checked: every event of a flow lies within it of any other. -#}
{% macro flow_lookaround_hours() %}
    {%- set hours = var('flow_lookaround_hours', 24) | int -%}
    {%- if hours < 2 -%}
        {{ exceptions.raise_compiler_error(
            "var('flow_lookaround_hours') must be at least 2 (a flow id lives two hours), got "
            ~ hours) }}
    {%- endif -%}
    {{ return(hours) }}
{% endmacro %}
