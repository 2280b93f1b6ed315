// The StashQL GraphiQL page. Everything it needs is bundled by esbuild (see build.mjs), so it
// renders and works with no internet access.
//
// Queries and mutations go over HTTP to /graphql, subscriptions over WebSocket to the same
// path (see fetcher.js for how the token reaches each).
import { GraphiQL } from 'graphiql';
import 'graphiql/style.css';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';

import { authorizationOf, createStashQLFetcher } from './fetcher.js';

const HTTP_URL = '/graphql';
const WS_URL = `${window.location.protocol === 'https:' ? 'wss:' : 'ws:'}//${window.location.host}/graphql`;

const DEFAULT_HEADERS = `{
  "Authorization": "Bearer <paste a token>"
}
`;

const DEFAULT_QUERY = `# StashQL: KubeDB databases and their KubeStash backups
#
# 1. Paste a bearer token into Headers below
#    (./scripts/demo prints some).
# 2. Run with the play button or Ctrl-Enter.
#
# Subscriptions work too, for example:
#   subscription {
#     databaseEvents { type phase ref { name } }
#   }

{
  viewer {
    username
  }
  clusters {
    name
    reachable
  }
  databases(first: 10) {
    totalCount
    nodes {
      cluster
      namespace
      name
      kind
      phase
      backup {
        health
        schedule
      }
    }
  }
}
`;

function App() {
  // GraphiQL fetches the schema once, when its fetcher changes; that first fetch can go out
  // before the headers editor exists, so without a token. A new fetcher whenever the
  // Authorization header settles on a new value fetches the schema again with it: paste a
  // token and completion and the docs work, with no need to press "re-fetch schema".
  const [authorization, setAuthorization] = useState(null);
  const fetcher = useMemo(
    () => createStashQLFetcher({ httpUrl: HTTP_URL, wsUrl: WS_URL }),
    [authorization], // a new fetcher per token, on purpose
  );
  const timer = useRef(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  const onEditHeaders = useCallback((value) => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      let headers;
      try {
        headers = JSON.parse(value || '{}');
      } catch {
        return; // still being typed
      }
      setAuthorization(authorizationOf(headers) ?? null);
    }, 500);
  }, []);

  return (
    <GraphiQL
      fetcher={fetcher}
      defaultQuery={DEFAULT_QUERY}
      defaultHeaders={DEFAULT_HEADERS}
      defaultEditorToolsVisibility="headers"
      isHeadersEditorEnabled
      shouldPersistHeaders={false}
      onEditHeaders={onEditHeaders}
    >
      <GraphiQL.Logo>StashQL</GraphiQL.Logo>
    </GraphiQL>
  );
}

createRoot(document.getElementById('graphiql')).render(<App />);
