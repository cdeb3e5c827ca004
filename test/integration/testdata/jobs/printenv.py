import os
for k in sorted(os.environ):
    print("%s=%s" % (k, os.environ[k]))
