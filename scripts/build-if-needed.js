// Builds dist/ when it is missing or older than any source file, so `npm start` works on a fresh clone.
const { execSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const target = path.join(root, 'dist', 'src', 'main.js');

function newest(dir) {
  let latest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(full));
    else if (entry.name.endsWith('.ts')) latest = Math.max(latest, fs.statSync(full).mtimeMs);
  }
  return latest;
}

const sources = ['src', 'migrations', 'bench', 'scripts']
  .map((d) => path.join(root, d))
  .filter(fs.existsSync);
const built = fs.existsSync(target) ? fs.statSync(target).mtimeMs : 0;
if (built === 0 || Math.max(...sources.map(newest)) > built) {
  execSync('npm run build --silent', { cwd: root, stdio: 'inherit' });
  fs.utimesSync(target, new Date(), new Date());
}
