// The floor: the least a tag checker can do. Lists the tags of every repository with plain fetch,
// `concurrency` requests at once, following Link rel="next" pages of `pageSize` (as dosync does),
// and nothing else: no auth dance, no retries, no policy. Plain JavaScript so the process starts as
// fast as node itself (a TypeScript loader would tax the floor, not dosync).
// Usage: node bench/lib/floor.mjs '{"registry":"127.0.0.1:5000","repos":["a","b"],"concurrency":6,"pageSize":1000}'
// Prints {"ms":..., "tags":..., "requests":...} (ms: from the first request to the last answer).
import pLimit from 'p-limit';

const { registry, repos, concurrency, pageSize } = JSON.parse(process.argv[2]);
const limit = pLimit(concurrency);
let requests = 0;

async function listTags(repo) {
  const tags = [];
  let url = new URL(`http://${registry}/v2/${repo}/tags/list?n=${pageSize}`);
  while (url) {
    // The body is read inside the limit: a request holds its slot until its answer is in.
    const { res, body } = await limit(async () => {
      const r = await fetch(url, { headers: { accept: 'application/json' } });
      return { res: r, body: await r.text() };
    });
    requests++;
    if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
    tags.push(...JSON.parse(body).tags);
    const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(res.headers.get('link') ?? '');
    url = next ? new URL(next[1], url) : undefined;
  }
  return tags;
}

const t0 = performance.now();
const lists = await Promise.all(repos.map(listTags));
const ms = performance.now() - t0;
process.stdout.write(JSON.stringify({ ms, tags: lists.reduce((n, l) => n + l.length, 0), requests }) + '\n');
