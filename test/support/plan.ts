import type { Client } from 'pg';

/** A node of `EXPLAIN (FORMAT JSON)`'s plan: the fields the plan tests read. */
export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Filter?: string;
  'Shared Hit Blocks': number;
  'Shared Read Blocks': number;
  Plans?: PlanNode[];
}

/** Runs `statement` (an EXECUTE of a prepared statement, as the library's are) under EXPLAIN (ANALYZE, BUFFERS): the plan's root. */
export async function explain(c: Client, statement: string): Promise<PlanNode> {
  const { rows } = await c.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${statement}`);
  return rows[0]['QUERY PLAN'][0].Plan;
}

/** Every node of a plan, the root first. */
export const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)];

/** The pages a node read (shared buffers, hit or read), its children's included. */
export const pagesOf = (node: PlanNode): number => node['Shared Hit Blocks'] + node['Shared Read Blocks'];
