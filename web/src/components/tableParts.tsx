import { Table, Text, VisuallyHidden } from '@mantine/core';
import type { ReactNode } from 'react';

/** An empty cell: a dash on screen, "None" for assistive technology. */
export function Dash() {
  return (
    <>
      <Text span c="dimmed" aria-hidden>
        —
      </Text>
      <VisuallyHidden>None</VisuallyHidden>
    </>
  );
}

export interface ColumnHead {
  label: ReactNode;
  /** Numbers (and the actions) line up on the right. */
  right?: boolean;
}

/** The header row of a table: one `th scope="col"` a column. */
export function ColumnHeads({ columns }: { columns: readonly ColumnHead[] }) {
  return (
    <Table.Tr>
      {columns.map((column, i) => (
        <Table.Th key={i} scope="col" ta={column.right ? 'right' : undefined}>
          {column.label}
        </Table.Th>
      ))}
    </Table.Tr>
  );
}
