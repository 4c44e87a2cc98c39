// A React 19 app using the elements, bundled by the test with esbuild (react.e2e-spec.ts) and
// type-checked there against the JSX typings of `nestjs-inbox/elements/react`.
import { useState } from 'react';
import { createRoot } from 'react-dom/client';
import 'nestjs-inbox/elements';
import type {} from 'nestjs-inbox/elements/react';

/** Where the Nest app is: defined by the bundler. */
declare const INBOX_URL: string;

function App() {
  const [heard, setHeard] = useState('');
  return (
    <>
      <header>
        <inbox-bell url={INBOX_URL} oninbox-action={(e) => setHeard(`${e.detail.action.event} ${e.detail.notification.title}`)} />
      </header>
      <p id="heard">{heard}</p>
    </>
  );
}

createRoot(document.getElementById('root')!).render(<App />);
