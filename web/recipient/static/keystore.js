// keystore keeps the recipient's secret keys in IndexedDB, in this browser
// only. Keys are stored armored and passphrase-protected (OpenPGP S2K): the
// page never stores or sends an unprotected secret key.

const dbName = "sealprint";
const storeName = "keys";

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(dbName, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(storeName, { keyPath: "fingerprint" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run(mode, fn) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(storeName, mode);
      const req = fn(tx.objectStore(storeName));
      tx.oncomplete = () => resolve(req && req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/**
 * list returns the stored keys: [{fingerprint, label, armored, added}].
 * It returns [] when IndexedDB is unavailable (private windows of some browsers).
 */
export async function list() {
  try {
    return (await run("readonly", (s) => s.getAll())) || [];
  } catch {
    return [];
  }
}

/** put stores (or replaces) a passphrase-protected armored secret key. */
export function put(fingerprint, label, armored) {
  return run("readwrite", (s) => s.put({ fingerprint, label, armored, added: new Date().toISOString() }));
}

/** remove forgets the key with this fingerprint. */
export function remove(fingerprint) {
  return run("readwrite", (s) => s.delete(fingerprint));
}
