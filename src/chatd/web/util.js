// Small helpers shared by the views: names, times, sizes.

export function shownName(user) {
  if (!user) return 'someone';
  return user.display_name || user.username;
}

export function conversationName(conversation, users, meId) {
  if (conversation.kind === 'direct') {
    const other = conversation.members.find((id) => id !== meId) || meId;
    const user = users.get(other);
    const name = user ? shownName(user) : 'direct message';
    return other === meId ? `${name} (you)` : name;
  }
  if (conversation.name) return conversation.name;
  const names = conversation.members
    .filter((id) => id !== meId)
    .map((id) => shownName(users.get(id)))
    .slice(0, 4);
  return names.length ? names.join(', ') : 'group';
}

export function timeOf(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function dayOf(iso) {
  return new Date(iso).toLocaleDateString([], { weekday: 'long', month: 'long', day: 'numeric' });
}

export function fullTime(iso) {
  return new Date(iso).toLocaleString();
}

export function sizeOf(bytes) {
  const units = ['B', 'KB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
}

export function newClientId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function isImage(file) {
  return /^image\/(png|jpeg|gif|webp|avif|bmp)$/.test(file.content_type.split(';')[0]);
}
