// The HTTP API: cookie authentication, the CSRF header, the error envelope.

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message || `request failed (${status})`);
    this.status = status;
    this.code = error?.code || 'internal';
    this.fields = error?.fields || null;
  }
}

export async function api(method, path, body) {
  const headers = { 'X-Chatd-CSRF': '1' };
  const init = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api/v1${path}`, init);
  } catch (err) {
    throw new ApiError(0, { code: 'unavailable', message: 'cannot reach the server' });
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data?.error);
  return data;
}

// Upload one file with progress: fetch() cannot report upload progress, XHR can.
export function uploadFile(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/files');
    xhr.setRequestHeader('X-Chatd-CSRF', '1');
    xhr.withCredentials = true;
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch (err) {
        data = null;
      }
      if (xhr.status === 201) resolve(data.file);
      else reject(new ApiError(xhr.status, data?.error));
    };
    xhr.onerror = () => reject(new ApiError(0, { message: 'upload failed' }));
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}
