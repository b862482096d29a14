import {
  Box,
  CloseButton,
  ColorSwatch,
  Flex,
  Group,
  MultiSelect,
  SegmentedControl,
  Stack,
  Text,
  TextInput,
  type MultiSelectProps,
} from '@mantine/core';
import { useDebouncedCallback } from '@mantine/hooks';
import { IconSearch, IconTag } from '@tabler/icons-react';
import { useEffect, useId, useMemo, useRef, useState } from 'react';
import type { Tag, TagMode } from '../api';
import { formatNumber } from '../format';

export const SEARCH_DEBOUNCE_MS = 300;

interface PatientFiltersProps {
  q: string;
  tags: string[];
  tagMode: TagMode;
  /** Tags of the project; undefined while loading. */
  availableTags: Tag[] | undefined;
  tagsError: boolean;
  onSearchChange: (q: string) => void;
  onTagsChange: (tags: string[]) => void;
  onTagModeChange: (mode: TagMode) => void;
  /** Incremented by the parent when filters are cleared elsewhere; drops any pending search. */
  resetCount: number;
}

/** Search box (debounced), tag filter and any/all switch above the patient list. */
export function PatientFilters({
  q,
  tags,
  tagMode,
  availableTags,
  tagsError,
  onSearchChange,
  onTagsChange,
  onTagModeChange,
  resetCount,
}: PatientFiltersProps) {
  const matchLabelId = useId();
  const [search, setSearch] = useState(q);
  const committed = useRef(q);

  const commit = useDebouncedCallback((value: string) => {
    committed.current = value;
    onSearchChange(value);
  }, SEARCH_DEBOUNCE_MS);

  // Follow outside changes of the query (Back button, "Clear filters").
  useEffect(() => {
    if (q !== committed.current) {
      committed.current = q;
      commit.cancel();
      setSearch(q);
    }
  }, [q, commit]);

  useEffect(() => {
    if (resetCount === 0) return;
    commit.cancel();
    committed.current = '';
    setSearch('');
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [resetCount]);

  const clearSearch = () => {
    commit.cancel();
    setSearch('');
    committed.current = '';
    onSearchChange('');
  };

  const colorByName = useMemo(
    () => new Map((availableTags ?? []).map((t) => [t.name, t] as const)),
    [availableTags],
  );
  const tagOptions = useMemo(() => {
    const names = (availableTags ?? []).map((t) => t.name);
    // Tags from the URL that the project no longer has stay visible (and removable).
    for (const name of tags) if (!colorByName.has(name)) names.push(name);
    return names;
  }, [availableTags, tags, colorByName]);

  const renderTagOption: MultiSelectProps['renderOption'] = ({ option }) => {
    const tag = colorByName.get(option.value);
    return (
      <Group gap="xs" wrap="nowrap" w="100%">
        {tag?.color ? <ColorSwatch color={tag.color} size={10} aria-hidden /> : <Box w={10} aria-hidden />}
        <Text size="sm" style={{ flex: 1 }} truncate="end">
          {option.label}
        </Text>
        {tag && (
          <Text size="xs" c="dimmed" className="tabular-nums">
            {formatNumber(tag.patientCount)}
          </Text>
        )}
      </Group>
    );
  };

  const tagsLoading = availableTags === undefined && !tagsError;
  const noTags = availableTags !== undefined && availableTags.length === 0 && tags.length === 0;

  let tagPlaceholder = tags.length ? undefined : 'Any tag';
  if (tagsLoading) tagPlaceholder = 'Loading tags…';
  else if (tagsError && tags.length === 0) tagPlaceholder = 'Tags unavailable';
  else if (noTags) tagPlaceholder = 'No tags in this project';

  return (
    <Flex gap="sm" wrap="wrap" align="flex-start" role="search" aria-label="Filter patients">
      <TextInput
        label="Search"
        placeholder="Name or code"
        type="search"
        value={search}
        onChange={(event) => {
          const value = event.currentTarget.value;
          setSearch(value);
          commit(value);
        }}
        onKeyDown={(event) => {
          if (event.key === 'Enter') commit.flush();
          if (event.key === 'Escape' && search) {
            event.preventDefault();
            clearSearch();
          }
        }}
        leftSection={<IconSearch size={16} aria-hidden />}
        rightSection={
          search ? <CloseButton size="sm" aria-label="Clear" onClick={clearSearch} /> : null
        }
        style={{ flex: '3 1 220px' }}
        spellCheck={false}
        autoComplete="off"
      />
      <MultiSelect
        label="Tags"
        placeholder={tagPlaceholder}
        data={tagOptions}
        value={tags}
        onChange={onTagsChange}
        renderOption={renderTagOption}
        leftSection={<IconTag size={16} aria-hidden />}
        searchable
        clearable
        nothingFoundMessage="No matching tags"
        disabled={tagsLoading || (noTags && tags.length === 0) || (tagsError && tags.length === 0)}
        maxDropdownHeight={280}
        style={{ flex: '3 1 260px' }}
        comboboxProps={{ shadow: 'md' }}
        // Let a couple of pills share the line with the (narrow) type-ahead field.
        styles={{ inputField: { minWidth: 48 } }}
      />
      <Stack gap={4} style={{ flex: '0 0 auto' }}>
        <Text component="div" id={matchLabelId} size="sm" fw={500} lh={1.55}>
          Match
        </Text>
        <SegmentedControl
          aria-labelledby={matchLabelId}
          value={tagMode}
          onChange={(value) => onTagModeChange(value === 'all' ? 'all' : 'any')}
          data={[
            { value: 'any', label: 'Any tag' },
            { value: 'all', label: 'All tags' },
          ]}
        />
      </Stack>
    </Flex>
  );
}
