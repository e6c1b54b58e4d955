// Client modules beyond the core hook in here (integrations, notifications, ...): each is
// a file of its own that calls `extend({...})` and is imported once below. A module may give
//   start(store)                          once, when the client loads (store.on for events)
//   sidebarActions(store, openDialog)     buttons for the sidebar's footer
//   conversationActions(store, conv)      buttons for an open conversation's header
//   dialogs: { name: Component }          opened with openDialog(name); props store, onClose
//   beforeSend(store, conv, body)         a Promise of true when it handled the text itself
//                                         (a slash command); the composer then sends nothing
//   completions(store, conv, textBeforeCaret)  composer suggestions when no @mention is being
//                                         typed: [{key, label, hint, insert}] (slash commands)
//   conversationNotices(store, conv)      elements above the composer (ephemeral answers)
//   messageBadges(store, message)         elements after a message's author (BOT)
//   adminSections(store)                  sections at the end of the admin console

const modules = [];

export function extend(module) {
  modules.push(module);
}

export function startExtensions(store) {
  for (const module of modules) if (module.start) module.start(store);
}

// What every module gives for one slot, flattened.
export function slot(name, ...args) {
  return modules.flatMap((module) => (module[name] ? [module[name](...args)] : [])).flat();
}

export function extensionDialog(name) {
  const found = modules.find((module) => module.dialogs && module.dialogs[name]);
  return found ? found.dialogs[name] : null;
}

export async function handledBeforeSend(store, conversation, body) {
  for (const module of modules) {
    if (module.beforeSend && (await module.beforeSend(store, conversation, body))) return true;
  }
  return false;
}
