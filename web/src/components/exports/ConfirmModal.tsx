import { Alert, Button, getDefaultZIndex, Group, Modal, Stack, Text } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';
import type { ReactNode } from 'react';
import { errorMessage } from '../../api';

/**
 * Dialogs that may open over the export details drawer: with the drawer's own z-index, the
 * drawer would stay above the dialog's overlay, bright and seemingly usable.
 */
export const OVER_DRAWER_Z_INDEX = getDefaultZIndex('modal') + 10;

interface ConfirmModalProps {
  opened: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  cancelLabel?: string;
  onConfirm: () => void;
  onClose: () => void;
  pending?: boolean;
  error?: unknown;
  danger?: boolean;
  /** Whether focus goes back to where it was when the dialog closes (default true). */
  returnFocus?: boolean;
  /** Called once the dialog has closed (after its transition). */
  onExitTransitionEnd?: () => void;
}

/** Asks before something that cannot be undone; focus starts on the safe choice. */
export function ConfirmModal({
  opened,
  title,
  children,
  confirmLabel,
  cancelLabel = 'Keep it',
  onConfirm,
  onClose,
  pending,
  error,
  danger = true,
  returnFocus = true,
  onExitTransitionEnd,
}: ConfirmModalProps) {
  return (
    <Modal
      opened={opened}
      onClose={onClose}
      title={title}
      centered
      radius="md"
      closeButtonProps={{ 'aria-label': 'Close' }}
      returnFocus={returnFocus}
      zIndex={OVER_DRAWER_Z_INDEX}
      onExitTransitionEnd={onExitTransitionEnd}
    >
      <Stack gap="md">
        <Text size="sm" component="div">
          {children}
        </Text>
        {Boolean(error) && (
          <Alert color="red" variant="light" icon={<IconAlertTriangle size={16} />} role="alert" p="sm">
            <Text size="sm">{errorMessage(error)}</Text>
          </Alert>
        )}
        <Group justify="flex-end" gap="sm">
          <Button variant="default" onClick={onClose} data-autofocus>
            {cancelLabel}
          </Button>
          <Button color={danger ? 'red' : undefined} onClick={onConfirm} loading={pending}>
            {confirmLabel}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
