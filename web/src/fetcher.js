// The page's fetcher. Queries and mutations go over HTTP with the headers editor's headers;
// subscriptions go over WebSocket (graphql-transport-ws), and since a browser cannot set
// headers on a WebSocket, the headers editor's Authorization goes into the `connection_init`
// payload as {"authorization": "Bearer ..."}, which is where the server reads the token.
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { getOperationAST, parse } from 'graphql';
import { createClient } from 'graphql-ws';

// Header names are case-insensitive: find Authorization however it was typed.
export function authorizationOf(headers) {
  if (!headers || typeof headers !== 'object') return undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === 'authorization' && typeof value === 'string') return value;
  }
  return undefined;
}

function isSubscription(query, operationName, documentAST) {
  let document = documentAST;
  if (!document) {
    try {
      document = parse(query);
    } catch {
      return false; // let the server report the syntax error
    }
  }
  try {
    return getOperationAST(document, operationName || undefined)?.operation === 'subscription';
  } catch {
    return false;
  }
}

// What GraphiQL shows when a subscription fails: plain {message} objects, which it prints as
// {"errors": [...]} (an Error would come with its stack trace).
function socketErrors(err) {
  if (Array.isArray(err)) return err; // GraphQL errors from the server's `error` message
  if (err && typeof err === 'object' && 'code' in err && 'reason' in err) {
    // graphql-ws reports a closed socket as its CloseEvent.
    const message = `WebSocket closed (${err.code}${err.reason ? `: ${err.reason}` : ''})`;
    return err.code === 4403
      ? [{ message: `${message}: the token was missing or not accepted; put a valid one in the headers as "Authorization": "Bearer <token>"` }]
      : [{ message }];
  }
  return [{ message: err instanceof Error ? err.message : String(err) }];
}

// One graphql-ws client per subscription: its connection_init carries the token that is in
// the headers editor when the subscription starts, and stopping the subscription closes it.
function subscribe(wsUrl, params, authorization) {
  return {
    subscribe(observer) {
      const client = createClient({
        url: wsUrl,
        connectionParams: authorization ? { authorization } : {},
        lazy: true,
        retryAttempts: 0,
      });
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        void client.dispose();
      };
      const unsubscribe = client.subscribe(params, {
        next: (value) => observer.next(value),
        error: (err) => {
          close();
          observer.error(socketErrors(err));
        },
        complete: () => {
          close();
          observer.complete();
        },
      });
      return {
        unsubscribe() {
          unsubscribe();
          close();
        },
      };
    },
  };
}

export function createStashQLFetcher({ httpUrl, wsUrl }) {
  const httpFetcher = createGraphiQLFetcher({ url: httpUrl, enableIncrementalDelivery: false });
  return (params, options) => {
    if (isSubscription(params.query, params.operationName, options?.documentAST)) {
      return subscribe(wsUrl, params, authorizationOf(options?.headers));
    }
    return httpFetcher(params, options);
  };
}
