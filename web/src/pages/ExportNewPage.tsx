import {
  Alert,
  Button,
  Group,
  Paper,
  Radio,
  Stack,
  Switch,
  Text,
  TextInput,
  Textarea,
  Title,
} from '@mantine/core';
import { useDebouncedValue, useDocumentTitle } from '@mantine/hooks';
import { IconAlertTriangle, IconArrowLeft, IconEyeOff, IconFileZip, IconList } from '@tabler/icons-react';
import { useCallback, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { ApiError, fetchPatients, isApiError, useModalities, useTags, type Patient } from '../api';
import { EstimateSummary, estimateLine, type EstimateView } from '../components/exports/EstimateSummary';
import { FormSection } from '../components/exports/FormSection';
import { ModalityPicker } from '../components/exports/ModalityPicker';
import { PICKER_PAGE_SIZE, type PatientFilter } from '../components/exports/PatientPicker';
import { PatientSelectionPanel } from '../components/exports/PatientSelectionPanel';
import { EmptyState } from '../components/StateViews';
import { defaultExportName, exportNameProblem, MAX_EXPORT_NAME_LENGTH } from '../exportNames';
import {
  checkFolder,
  coveringFolder,
  emptySelection,
  excludePatients,
  folderPickInfo,
  isEmptySelection,
  isPatientSelected,
  pickedPatientCount,
  setPatientSelected,
  toRequestSelection,
  uncheckFolder,
  type PatientSelection,
} from '../exportSelection';
import {
  useCreateExport,
  useExportEstimate,
  type Compression,
  type ExportRequestBody,
  type ModalityEstimate,
} from '../exportsApi';
import { ancestorIds, type FolderIndex } from '../folders';
import { useProject } from '../projectContext';
import classes from './ExportNewPage.module.css';

export const ESTIMATE_DEBOUNCE_MS = 300;
const MAX_NOTES = 5000;

type Section = 'selection' | 'modalities' | 'include' | 'name' | 'notes' | 'options';

/** Which part of the form a server error's `field` concerns (null: a general problem). */
export function sectionOf(field: string | undefined): Section | null {
  if (!field) return null;
  const head = field.split('.')[0];
  switch (head) {
    case 'selection':
    case 'modalities':
    case 'include':
    case 'name':
    case 'notes':
    case 'options':
      return head;
    default:
      return null;
  }
}

const COMPRESSION_CHOICES: Array<{ value: Compression; label: string; description: string }> = [
  {
    value: 'auto',
    label: 'Automatic (recommended)',
    description: 'Compresses files that shrink (STL meshes, plain volumes) and stores already-compressed ones (.nii.gz, JPEG) as they are.',
  },
  {
    value: 'store',
    label: 'Store only',
    description: 'No compression: the quickest to build and to open; the ZIP is as large as the files.',
  },
  {
    value: 'deflate',
    label: 'Compress everything',
    description: 'Deflates every file: slower to build and barely smaller for .nii.gz or JPEG.',
  },
];

function initialExpanded(index: FolderIndex, openId: string | null): Set<string> {
  const open = new Set(index.roots.filter((r) => r.children.length > 0).map((r) => r.id));
  if (openId) {
    for (const id of ancestorIds(index, openId)) open.add(id);
    if (index.byId.get(openId)?.children.length) open.add(openId);
  }
  return open;
}

/** `/p/:slug/exports/new`: choose patients, modalities and options, then create the export. */
export function ExportNewPage() {
  const { project } = useProject();
  useDocumentTitle(`New export · ${project.name} · Cohort`);
  if (project.role === 'viewer') {
    return (
      <Paper withBorder radius="md">
        <EmptyState
          icon={<IconEyeOff size={28} stroke={1.6} />}
          title="Viewers cannot export"
          action={
            <Button component={Link} to={`/p/${encodeURIComponent(project.slug)}`} variant="default" leftSection={<IconArrowLeft size={16} />}>
              Back to patients
            </Button>
          }
        >
          You can browse this project, but exporting needs the member or admin role. Ask a project administrator if you need an export.
        </EmptyState>
      </Paper>
    );
  }
  if (project.role !== 'admin' && project.role !== 'member') return null;
  return <ExportForm />;
}

function ExportForm() {
  const { project, folderIndex } = useProject();
  const slug = project.slug;
  const base = `/p/${encodeURIComponent(slug)}`;
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const summaryHeadingId = useId();

  // A folder handed over from the patient browser starts picked and open.
  const [startFolder] = useState(() => {
    const id = params.get('folder');
    return id && folderIndex.byId.has(id) ? id : null;
  });
  const [selection, setSelection] = useState<PatientSelection>(() =>
    startFolder ? checkFolder(folderIndex, emptySelection, startFolder) : emptySelection,
  );
  const [openId, setOpenId] = useState<string | null>(() => startFolder ?? folderIndex.roots[0]?.id ?? null);
  const [expanded, setExpanded] = useState<Set<string>>(() => initialExpanded(folderIndex, openId));
  const [filter, setFilter] = useState<PatientFilter>({ q: '', tags: [], tagMode: 'any' });
  const [busy, setBusy] = useState<ReadonlySet<string>>(new Set());
  const [selectionProblem, setSelectionProblem] = useState<string | null>(null);

  const modalities = useModalities(slug);
  const tags = useTags(slug);
  const [chosenState, setChosenState] = useState<string[] | null>(null);
  const [include, setInclude] = useState({ raw: true, processed: true });

  const [name, setName] = useState(() => defaultExportName(new Date()));
  const [notes, setNotes] = useState('');
  const [compression, setCompression] = useState<Compression>('auto');
  const [pseudonymize, setPseudonymize] = useState(false);

  const [submitted, setSubmitted] = useState(false);
  const [serverError, setServerError] = useState<ApiError | null>(null);
  const create = useCreateExport(slug);

  const selectionHeading = useRef<HTMLHeadingElement>(null);
  const modalitiesHeading = useRef<HTMLHeadingElement>(null);
  const optionsHeading = useRef<HTMLHeadingElement>(null);
  const nameInput = useRef<HTMLInputElement>(null);

  const modalityNames = useMemo(() => new Map((modalities.data ?? []).map((m) => [m.slug, m.name] as const)), [modalities.data]);
  const allSlugs = useMemo(() => (modalities.data ?? []).map((m) => m.slug).sort(), [modalities.data]);
  const chosen = useMemo(
    () => (chosenState ?? allSlugs).filter((s) => allSlugs.length === 0 || allSlugs.includes(s)).sort(),
    [chosenState, allSlugs],
  );

  const clearServerError = (section: Section) => {
    if (serverError && (sectionOf(serverError.field) === section || sectionOf(serverError.field) === null)) setServerError(null);
  };

  // ---- selection -------------------------------------------------------------------------------

  const pickInfo = useMemo(() => folderPickInfo(folderIndex, selection), [folderIndex, selection]);
  const picked = useMemo(() => pickedPatientCount(folderIndex, selection), [folderIndex, selection]);
  const hasSelection = !isEmptySelection(selection);

  const excludeFolderPatients = async (folderId: string) => {
    setBusy((prev) => new Set([...prev, folderId]));
    try {
      const found: Array<{ id: string; folderId: string }> = [];
      for (let offset = 0; ; offset += PICKER_PAGE_SIZE) {
        const page = await fetchPatients(slug, folderId, { q: '', tags: [], tagMode: 'any', recursive: true, limit: PICKER_PAGE_SIZE, offset });
        found.push(...page.items.map((p) => ({ id: p.id, folderId: p.folderId })));
        if (page.items.length === 0 || offset + PICKER_PAGE_SIZE >= page.total) break;
      }
      setSelection((prev) => (coveringFolder(folderIndex, prev, folderId) ? excludePatients(prev, found) : prev));
    } catch (error) {
      setSelectionProblem(`Could not un-pick the folder: ${isApiError(error) ? error.message : 'the patients did not load.'}`);
    } finally {
      setBusy((prev) => {
        const next = new Set(prev);
        next.delete(folderId);
        return next;
      });
    }
  };

  const toggleFolder = (folderId: string) => {
    setSelectionProblem(null);
    clearServerError('selection');
    if (pickInfo.get(folderId)?.state === 'checked') {
      const result = uncheckFolder(folderIndex, selection, folderId);
      if (result.kind === 'done') setSelection(result.selection);
      else void excludeFolderPatients(folderId);
    } else {
      setSelection((prev) => checkFolder(folderIndex, prev, folderId));
    }
  };

  const togglePatient = (patient: Patient, selected: boolean) => {
    setSelectionProblem(null);
    clearServerError('selection');
    setSelection((prev) => setPatientSelected(folderIndex, prev, { id: patient.id, folderId: patient.folderId }, selected));
  };

  const patientSelected = useCallback(
    (patient: Patient) => isPatientSelected(folderIndex, selection, patient.id, patient.folderId),
    [folderIndex, selection],
  );

  const openFolder = (id: string) => {
    setOpenId(id);
    const hidden = ancestorIds(folderIndex, id).filter((a) => !expanded.has(a));
    if (hidden.length) setExpanded((prev) => new Set([...prev, ...hidden]));
  };

  // ---- estimate --------------------------------------------------------------------------------

  const requestSelection = useMemo(() => toRequestSelection(selection, filter.tags, filter.tagMode), [selection, filter.tags, filter.tagMode]);
  const includeValid = include.raw || include.processed;
  // Every modality, so each card can show its numbers (also those not ticked).
  const breakdownBody =
    hasSelection && allSlugs.length > 0
      ? JSON.stringify({ selection: requestSelection, modalities: allSlugs, include: includeValid ? include : { raw: true, processed: true } })
      : null;
  // What would be exported: totals and warnings. The same text as above when every modality is
  // ticked, so the two share one request.
  const chosenBody =
    hasSelection && chosen.length > 0 && includeValid ? JSON.stringify({ selection: requestSelection, modalities: chosen, include }) : null;
  const [debouncedBreakdown] = useDebouncedValue(breakdownBody, ESTIMATE_DEBOUNCE_MS);
  const [debouncedChosen] = useDebouncedValue(chosenBody, ESTIMATE_DEBOUNCE_MS);
  const breakdown = useExportEstimate(slug, debouncedBreakdown);
  const totals = useExportEstimate(slug, debouncedChosen);

  const estimating =
    (breakdownBody !== null && (breakdownBody !== debouncedBreakdown || breakdown.isFetching)) ||
    (chosenBody !== null && (chosenBody !== debouncedChosen || totals.isFetching));

  const perModality = useMemo<ReadonlyMap<string, ModalityEstimate> | null>(() => {
    if (!hasSelection || !breakdown.data) return null;
    return new Map(breakdown.data.perModality.map((m) => [m.modality, m] as const));
  }, [hasSelection, breakdown.data]);

  let noFilesReason: string | null = null;
  if (!hasSelection) noFilesReason = 'Pick folders or patients to see the size of the export.';
  else if (allSlugs.length > 0 && chosen.length === 0) noFilesReason = 'Choose at least one modality to see the size.';
  else if (!includeValid) noFilesReason = 'Include raw or processed files to see the size.';

  const estimateError = (chosenBody !== null ? totals.error : null) ?? (breakdownBody !== null ? breakdown.error : null);
  const view: EstimateView = {
    selectedCount: hasSelection ? (breakdown.data?.selectedPatientCount ?? totals.data?.selectedPatientCount ?? null) : 0,
    pickedCount: hasSelection ? picked : 0,
    hasTagFilter: filter.tags.length > 0,
    estimate: chosenBody !== null ? totals.data : undefined,
    noFilesReason,
    loading: estimating,
    error: estimateError,
  };

  // ---- validation and submit -------------------------------------------------------------------

  const nameProblem = exportNameProblem(name);
  const notesProblem = notes.length > MAX_NOTES ? `Notes may be at most ${MAX_NOTES} characters.` : null;
  let modalitiesProblem: string | null = null;
  if (modalities.data && modalities.data.length > 0 && chosen.length === 0) modalitiesProblem = 'Choose at least one modality.';
  else if (submitted && !modalities.data) modalitiesProblem = 'The project’s modalities have not loaded yet.';
  const includeProblem = includeValid
    ? null
    : 'Switch on raw files, processed files or both. With neither, the export would hold no files.';
  const emptyProblem = submitted && !hasSelection ? 'Pick at least one folder or patient.' : null;

  const serverSection = serverError ? sectionOf(serverError.field) : null;
  const serverFor = (section: Section) => (serverSection === section ? serverError?.message ?? null : null);

  const focusSection = (section: Section) => {
    const target =
      section === 'selection'
        ? selectionHeading.current
        : section === 'modalities' || section === 'include'
          ? modalitiesHeading.current
          : section === 'name'
            ? nameInput.current
            : optionsHeading.current;
    target?.scrollIntoView({ block: 'center', behavior: 'smooth' });
    target?.focus({ preventScroll: true });
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    setServerError(null);
    const local: Array<[Section, string | null]> = [
      ['selection', hasSelection ? null : 'empty'],
      ['modalities', modalities.data ? modalitiesProblem : 'not loaded'],
      ['include', includeProblem],
      ['name', nameProblem],
      ['notes', notesProblem],
    ];
    const first = local.find(([, problem]) => problem !== null);
    if (first) {
      focusSection(first[0]);
      return;
    }
    const body: ExportRequestBody = {
      name: name.trim(),
      selection: requestSelection,
      modalities: chosen,
      include,
      options: { compression, pseudonymize },
    };
    if (notes.trim()) body.notes = notes;
    create.mutate(body, {
      onSuccess: (created) => navigate(`${base}/exports?highlight=${encodeURIComponent(created.id)}`),
      onError: (error) => {
        const apiError = error instanceof ApiError ? error : new ApiError(0, 'unknown', 'Something went wrong. Please try again.');
        setServerError(apiError);
        const section = sectionOf(apiError.field);
        if (section) focusSection(section);
      },
    });
  };

  const generalError = serverError && serverSection === null ? serverError : null;
  const submitButton = (
    <Button type="submit" size="md" fullWidth leftSection={<IconFileZip size={18} />} loading={create.isPending}>
      Create export
    </Button>
  );

  return (
    <form onSubmit={onSubmit} noValidate>
      <Group justify="space-between" align="flex-end" mb="md" gap="sm">
        <div>
          <Title order={2} fz="h3">
            New export
          </Title>
          <Text size="sm" c="dimmed">
            Choose patients, modalities and options. The ZIP is built in the background; you can leave the page meanwhile.
          </Text>
        </div>
        <Button component={Link} to={`${base}/exports`} variant="default" leftSection={<IconList size={16} />}>
          All exports
        </Button>
      </Group>

      <div className={classes.layout}>
        <Stack gap="md" className={classes.main}>
          <FormSection
            ref={selectionHeading}
            step={1}
            title="Patients"
            description="Tick folders to export them whole, or open a folder to pick single patients."
            error={serverFor('selection') ?? selectionProblem ?? emptyProblem}
          >
            {folderIndex.roots.length === 0 ? (
              <Text size="sm" c="dimmed">
                This project has no folders you can see yet.
              </Text>
            ) : (
              <PatientSelectionPanel
                slug={slug}
                index={folderIndex}
                pickInfo={pickInfo}
                isPatientSelected={patientSelected}
                onToggleFolder={toggleFolder}
                onTogglePatient={togglePatient}
                busy={busy}
                openId={openId}
                onOpen={openFolder}
                expanded={expanded}
                onExpandedChange={setExpanded}
                filter={filter}
                onFilterChange={(patch) => {
                  clearServerError('selection');
                  setFilter((prev) => ({ ...prev, ...patch }));
                }}
                tags={tags.data}
                tagsError={tags.isError}
                modalityNames={modalityNames}
              />
            )}
          </FormSection>

          <FormSection
            ref={modalitiesHeading}
            step={2}
            title="Modalities"
            description="Which kinds of imaging data to include, with what the selected patients hold of each."
          >
            <ModalityPicker
              modalities={modalities.data}
              loadError={modalities.error}
              onRetry={() => void modalities.refetch()}
              chosen={chosen}
              onChosenChange={(next) => {
                clearServerError('modalities');
                setChosenState(next);
              }}
              perModality={perModality}
              stale={estimating}
              include={include}
              onIncludeChange={(next) => {
                clearServerError('include');
                setInclude(next);
              }}
              modalitiesError={serverFor('modalities') ?? modalitiesProblem}
              includeError={serverFor('include') ?? includeProblem}
            />
          </FormSection>

          <FormSection ref={optionsHeading} step={3} title="Options" error={serverFor('options')}>
            <Stack gap="lg">
              <TextInput
                ref={nameInput}
                label="Export name"
                description="Names the ZIP file and the folder inside it."
                value={name}
                onChange={(event) => {
                  clearServerError('name');
                  setName(event.currentTarget.value);
                }}
                error={serverFor('name') ?? nameProblem}
                required
                maxLength={MAX_EXPORT_NAME_LENGTH + 20}
                spellCheck={false}
                autoComplete="off"
                rightSection={
                  <Text size="xs" c={name.length > MAX_EXPORT_NAME_LENGTH ? 'red' : 'dimmed'} className="tabular-nums" pr={8}>
                    {name.length}/{MAX_EXPORT_NAME_LENGTH}
                  </Text>
                }
                rightSectionWidth={64}
                className={classes.nameInput}
              />
              <Textarea
                label="Notes"
                description="Optional. Saved with the export and written into its metadata.json."
                placeholder="Purpose, study protocol, who asked for it…"
                value={notes}
                onChange={(event) => {
                  clearServerError('notes');
                  setNotes(event.currentTarget.value);
                }}
                error={serverFor('notes') ?? notesProblem}
                autosize
                minRows={2}
                maxRows={6}
              />
              <Radio.Group
                label="Compression"
                value={compression}
                onChange={(value) => setCompression(value === 'store' || value === 'deflate' ? value : 'auto')}
              >
                <Stack gap="sm" mt="xs">
                  {COMPRESSION_CHOICES.map((choice) => (
                    <Radio key={choice.value} value={choice.value} label={choice.label} description={choice.description} />
                  ))}
                </Stack>
              </Radio.Group>
              <Switch
                label="Pseudonymise"
                description="Replaces patient names, codes and ids in the ZIP with patient_001, patient_002, …; project admins can download the mapping from the server."
                checked={pseudonymize}
                onChange={(event) => setPseudonymize(event.currentTarget.checked)}
              />
            </Stack>
          </FormSection>
        </Stack>

        <aside className={classes.aside} aria-labelledby={summaryHeadingId}>
          <Paper withBorder radius="md" p="lg" shadow="xs">
            <EstimateSummary view={view} headingId={summaryHeadingId}>
              {generalError && (
                <Alert color="red" variant="light" icon={<IconAlertTriangle size={16} />} role="alert" p="sm" title="The export was not created">
                  <Text size="sm">{generalError.message}</Text>
                </Alert>
              )}
              <Stack gap={6} className={classes.asideSubmit}>
                {submitButton}
                <Text size="xs" c="dimmed" ta="center">
                  You can follow it on the{' '}
                  <Link to={`${base}/exports`} className={classes.inlineLink}>
                    Exports
                  </Link>{' '}
                  page.
                </Text>
              </Stack>
            </EstimateSummary>
          </Paper>
        </aside>
      </div>

      {/* Narrow screens: the count stays in view at the bottom. */}
      <div className={classes.bottomBar}>
        <div style={{ minWidth: 0 }} aria-hidden>
          <Text size="sm" fw={600} className="tabular-nums" truncate="end">
            {estimateLine(view)}
          </Text>
          <Text size="xs" c={generalError ? 'red' : 'dimmed'} truncate="end">
            {generalError ? generalError.message : estimating ? 'Updating…' : 'selected for export'}
          </Text>
        </div>
        <Button type="submit" leftSection={<IconFileZip size={16} />} loading={create.isPending} style={{ flexShrink: 0 }}>
          Create export
        </Button>
      </div>
    </form>
  );
}
