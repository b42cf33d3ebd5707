-- tagd's PostgreSQL schema, version 1 (docs/design.md, "PostgreSQL").
--
-- Identifiers (accounts, regions, types, ids, key ids) are text in the "C" collation, so that
-- they sort by their bytes, as the embedded engine orders them. Tag keys and values, and every
-- other text a client chooses, are bytea: tags may hold any UTF-8, NUL included, which text
-- cannot, and bytea also sorts by its bytes.

CREATE TABLE meta (
    name  text COLLATE "C" PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE accounts (
    id         text COLLATE "C" PRIMARY KEY,
    name       text NOT NULL,
    root       boolean NOT NULL,
    created_at bigint NOT NULL
);

CREATE TABLE access_keys (
    id         text COLLATE "C" PRIMARY KEY,
    account_id text COLLATE "C" NOT NULL,
    secret     text NOT NULL,
    enabled    boolean NOT NULL,
    created_at bigint NOT NULL
);
CREATE INDEX access_keys_by_account ON access_keys (account_id, id);

-- One row per resource that carries tags: its tag set in key order, as two parallel arrays.
CREATE TABLE resources (
    account text COLLATE "C" NOT NULL,
    region  text COLLATE "C" NOT NULL,
    rtype   text COLLATE "C" NOT NULL,
    rid     text COLLATE "C" NOT NULL,
    keys    bytea[] NOT NULL,
    vals    bytea[] NOT NULL,
    uuid    bytea,
    PRIMARY KEY (account, region, rtype, rid)
);

-- The tag index: one row per (resource, key, value) binding. Its key serves (key, value)
-- filters in (type, id) order; the second index serves key-only filters and key listings.
CREATE TABLE bindings (
    account text COLLATE "C" NOT NULL,
    region  text COLLATE "C" NOT NULL,
    key     bytea NOT NULL,
    value   bytea NOT NULL,
    rtype   text COLLATE "C" NOT NULL,
    rid     text COLLATE "C" NOT NULL,
    PRIMARY KEY (account, region, key, value, rtype, rid)
);
CREATE INDEX bindings_by_key ON bindings (account, region, key, rtype, rid);

CREATE TABLE registered (
    account text COLLATE "C" NOT NULL,
    region  text COLLATE "C" NOT NULL,
    rtype   text COLLATE "C" NOT NULL,
    rid     text COLLATE "C" NOT NULL,
    PRIMARY KEY (account, region, rtype, rid)
);

-- Alibaba's preset ("meta") tags: account-wide keys with descriptions, and their values.
CREATE TABLE preset_keys (
    account     text COLLATE "C" NOT NULL,
    key         bytea NOT NULL,
    description bytea NOT NULL,
    PRIMARY KEY (account, key)
);
CREATE TABLE preset_values (
    account     text COLLATE "C" NOT NULL,
    key         bytea NOT NULL,
    value       bytea NOT NULL,
    description bytea NOT NULL,
    PRIMARY KEY (account, key, value)
);

-- A namespace's explicit catalogue (Baidu's): account-wide tags with ids never reused.
CREATE SEQUENCE catalogue_ids;
CREATE TABLE catalogue (
    account   text COLLATE "C" NOT NULL,
    namespace text COLLATE "C" NOT NULL,
    key       bytea NOT NULL,
    value     bytea NOT NULL,
    id        bigint NOT NULL UNIQUE,
    PRIMARY KEY (account, namespace, key, value)
);
